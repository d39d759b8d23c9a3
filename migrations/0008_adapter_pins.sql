ALTER TABLE `adapters` ADD `pinned_at` integer;--> statement-breakpoint
CREATE INDEX `adapters_pinned` ON `adapters` (`pinned_at`);