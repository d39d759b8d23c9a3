CREATE TABLE `backend_credentials` (
	`id` text PRIMARY KEY NOT NULL,
	`backend_id` text NOT NULL,
	`token_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `backend_credentials_hash` ON `backend_credentials` (`token_hash`);--> statement-breakpoint
CREATE INDEX `backend_credentials_backend` ON `backend_credentials` (`backend_id`);