import { Module } from '@nestjs/common';
import { ConfigDocumentsController } from './config-documents.controller';
import { ConfigDocumentsService } from './config-documents.service';
import { DocumentWorkers } from './document-workers';
import { SimulationService } from './simulation.service';

@Module({
  controllers: [ConfigDocumentsController],
  providers: [ConfigDocumentsService, SimulationService, DocumentWorkers],
  exports: [ConfigDocumentsService],
})
export class ConfigDocumentsModule {}
