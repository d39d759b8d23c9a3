DROP INDEX `adapters_tenant_name`;--> statement-breakpoint
ALTER TABLE `adapters` ADD `version` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `adapters` ADD `current` integer DEFAULT true NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `adapters_tenant_name_version` ON `adapters` (`tenant_id`,`name`,`version`);--> statement-breakpoint
CREATE UNIQUE INDEX `adapters_tenant_name_current` ON `adapters` (`tenant_id`,`name`) WHERE "adapters"."current" = 1;