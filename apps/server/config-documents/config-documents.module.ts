import { Module } from '@nestjs/common';
import { ConfigDocumentsController } from './config-documents.controller';
import { ConfigDocumentsService } from './config-documents.service';

@Module({
  controllers: [ConfigDocumentsController],
  providers: [ConfigDocumentsService],
  exports: [ConfigDocumentsService],
})
export class ConfigDocumentsModule {}
