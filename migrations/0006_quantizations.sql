CREATE TABLE `quantizations` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`base_model_id` text NOT NULL,
	`bits` integer NOT NULL,
	`group_size` integer NOT NULL,
	`result` text,
	`status` text NOT NULL,
	`error` text,
	`output_prefix` text NOT NULL,
	`lease_owner` text,
	`lease_expires_at` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`base_model_id`) REFERENCES `base_models`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `quantizations_tenant` ON `quantizations` (`tenant_id`);--> statement-breakpoint
CREATE INDEX `quantizations_base` ON `quantizations` (`base_model_id`,`bits`);--> statement-breakpoint
CREATE INDEX `quantizations_claim` ON `quantizations` (`status`,`created_at`);