import { Global, Module, type DynamicModule } from '@nestjs/common';

/**
 * What a start opened before its modules were all built. A provider that
 * fails while Nest builds the modules (a stored key the key-encryption key
 * does not open) leaves no app to close, so the pools opened before it are
 * closed from this list instead (server.ts).
 */
export class StartResources {
  private readonly closers: (() => Promise<void>)[] = [];

  opened(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.closers.splice(0).map((close) => close().catch(() => undefined)));
  }
}

@Global()
@Module({})
export class StartResourcesModule {
  static forRoot(resources: StartResources): DynamicModule {
    return {
      module: StartResourcesModule,
      providers: [{ provide: StartResources, useValue: resources }],
      exports: [StartResources],
    };
  }
}
