-- Per-site lease policy switches, so each technique's contribution can be measured (issue 3).
-- number_selection: which free pool number a new visit gets: 'lru' = least recently released first (the
-- product's policy, DESIGN §5), 'random' = any free number (the naive baseline).
-- visitor_stickiness: a returning visitor keeps or gets back its earlier number (DESIGN §5).

ALTER TABLE sites ADD COLUMN number_selection text NOT NULL DEFAULT 'lru'
  CHECK (number_selection IN ('lru', 'random'));
ALTER TABLE sites ADD COLUMN visitor_stickiness boolean NOT NULL DEFAULT true;

