ALTER TABLE `merges` ADD `result` text;--> statement-breakpoint
ALTER TABLE `compressions` ADD `result` text;