-- Review queues (lens.review): the traces of each queue in a fixed order, so a restarted kernel, or a second
-- reviewer, gets the same queue. The judgements themselves are annotations (queue = review_items.queue), written
-- one row per keystroke and never updated: a reviewer's verdict on an item is their latest row named 'review'
-- (label pass or fail), a tag is on when their latest row named 'tag' with that label has score 1 (0: taken off),
-- the note is their latest row named 'note'. Undo deletes the reviewer's latest row in the queue.
CREATE TABLE review_items (
    queue     VARCHAR NOT NULL,
    position  INTEGER NOT NULL,
    trace_id  VARCHAR NOT NULL,
    added_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    reason    VARCHAR,
    PRIMARY KEY (queue, position),
    UNIQUE (queue, trace_id)
);
COMMENT ON TABLE review_items IS 'The items of every review queue in review order; their judgements are the annotations with this queue (annotator_kind human; name review: label pass/fail, name tag: label the tag with score 1 on / 0 off, name note: the note), each reviewer''s latest row counting.';
COMMENT ON COLUMN review_items.queue IS 'Name of the queue (default: the ISO week it was made in, e.g. 2026-W47); annotations.queue of its judgements.';
COMMENT ON COLUMN review_items.position IS '0-based place in the queue; items are only ever appended.';
COMMENT ON COLUMN review_items.trace_id IS 'The trace to review (at most once per queue).';
COMMENT ON COLUMN review_items.added_at IS 'When the item was added to the queue.';
COMMENT ON COLUMN review_items.reason IS 'Why it was picked (the sampling strategy, e.g. newest, random, failing_checks), if known.';
