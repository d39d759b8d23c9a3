CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`key_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_tenant` ON `api_keys` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `tenants` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `base_models` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`storage_prefix` text NOT NULL,
	`family` text NOT NULL,
	`num_layers` integer NOT NULL,
	`hidden_size` integer NOT NULL,
	`vocab_size` integer NOT NULL,
	`context_length` integer NOT NULL,
	`config_json` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `base_models_tenant_name` ON `base_models` (`tenant_id`,`name`);--> statement-breakpoint
CREATE TABLE `adapters` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`base_model_id` text NOT NULL,
	`name` text NOT NULL,
	`status` text NOT NULL,
	`rejection_code` text,
	`rejection_message` text,
	`rank` integer,
	`target_modules` text,
	`size_bytes` integer,
	`sha256` text,
	`source` text NOT NULL,
	`source_id` text,
	`storage_prefix` text NOT NULL,
	`declared_files` text,
	`upload_expires_at` integer,
	`created_at` integer NOT NULL,
	`ready_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`base_model_id`) REFERENCES `base_models`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `adapters_tenant_name` ON `adapters` (`tenant_id`,`name`);--> statement-breakpoint
CREATE INDEX `adapters_base` ON `adapters` (`base_model_id`);--> statement-breakpoint
CREATE TABLE `files` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`filename` text NOT NULL,
	`purpose` text NOT NULL,
	`bytes` integer NOT NULL,
	`examples` integer NOT NULL,
	`storage_key` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `files_tenant` ON `files` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `fine_tuning_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`base_model_id` text NOT NULL,
	`training_file_id` text NOT NULL,
	`validation_file_id` text,
	`hyperparameters` text NOT NULL,
	`suffix` text,
	`seed` integer NOT NULL,
	`status` text NOT NULL,
	`error` text,
	`output_prefix` text NOT NULL,
	`result_adapter_id` text,
	`trained_tokens` integer,
	`idempotency_key` text,
	`request_hash` text,
	`lease_owner` text,
	`lease_expires_at` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`base_model_id`) REFERENCES `base_models`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`training_file_id`) REFERENCES `files`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`validation_file_id`) REFERENCES `files`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`result_adapter_id`) REFERENCES `adapters`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `fine_tuning_jobs_tenant` ON `fine_tuning_jobs` (`tenant_id`);--> statement-breakpoint
CREATE INDEX `fine_tuning_jobs_claim` ON `fine_tuning_jobs` (`status`,`created_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `fine_tuning_jobs_idempotency` ON `fine_tuning_jobs` (`tenant_id`,`idempotency_key`);--> statement-breakpoint
CREATE TABLE `fine_tuning_checkpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`job_id` text NOT NULL,
	`step` integer NOT NULL,
	`train_loss` real,
	`valid_loss` real,
	`storage_prefix` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`job_id`) REFERENCES `fine_tuning_jobs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `fine_tuning_checkpoints_step` ON `fine_tuning_checkpoints` (`job_id`,`step`);--> statement-breakpoint
CREATE TABLE `fine_tuning_events` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`job_id` text NOT NULL,
	`level` text NOT NULL,
	`type` text NOT NULL,
	`message` text NOT NULL,
	`data` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`job_id`) REFERENCES `fine_tuning_jobs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `fine_tuning_events_job` ON `fine_tuning_events` (`job_id`,`seq`);--> statement-breakpoint
CREATE TABLE `merge_members` (
	`merge_id` text NOT NULL,
	`adapter_id` text NOT NULL,
	`position` integer NOT NULL,
	`weight` real,
	PRIMARY KEY(`merge_id`, `adapter_id`),
	FOREIGN KEY (`merge_id`) REFERENCES `merges`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`adapter_id`) REFERENCES `adapters`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `merge_reverts` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`merge_id` text NOT NULL,
	`adapter_id` text NOT NULL,
	`name` text NOT NULL,
	`result_adapter_id` text,
	`status` text NOT NULL,
	`error` text,
	`output_prefix` text NOT NULL,
	`lease_owner` text,
	`lease_expires_at` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`merge_id`) REFERENCES `merges`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`adapter_id`) REFERENCES `adapters`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`result_adapter_id`) REFERENCES `adapters`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `merge_reverts_merge` ON `merge_reverts` (`merge_id`);--> statement-breakpoint
CREATE INDEX `merge_reverts_claim` ON `merge_reverts` (`status`,`created_at`);--> statement-breakpoint
CREATE TABLE `merges` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`base_model_id` text NOT NULL,
	`name` text NOT NULL,
	`method` text NOT NULL,
	`basis_size` integer,
	`density` real,
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
CREATE UNIQUE INDEX `merges_tenant_name` ON `merges` (`tenant_id`,`name`);--> statement-breakpoint
CREATE INDEX `merges_claim` ON `merges` (`status`,`created_at`);--> statement-breakpoint
CREATE TABLE `compressions` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`source_adapter_id` text NOT NULL,
	`name` text NOT NULL,
	`rank` integer,
	`energy` real,
	`budget_bytes` integer,
	`bits` integer NOT NULL,
	`result_adapter_id` text,
	`status` text NOT NULL,
	`error` text,
	`output_prefix` text NOT NULL,
	`lease_owner` text,
	`lease_expires_at` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`source_adapter_id`) REFERENCES `adapters`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`result_adapter_id`) REFERENCES `adapters`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `compressions_tenant` ON `compressions` (`tenant_id`);--> statement-breakpoint
CREATE INDEX `compressions_claim` ON `compressions` (`status`,`created_at`);--> statement-breakpoint
CREATE TABLE `backends` (
	`id` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`capacity` integer NOT NULL,
	`in_flight` integer NOT NULL,
	`loaded_adapters` text NOT NULL,
	`last_heartbeat_at` integer NOT NULL,
	`registered_at` integer NOT NULL
);
