-- Cached 2-D layouts of the embedding map (UMAP and others), so re-opening a map is instant. A layout depends on
-- the vector set (its embedding ids and vector bytes), the method, its parameters and the seed; the cache key
-- hashes all four. Coordinates are kept as one float32 BLOB per layout (x0 y0 x1 y1 ...), in the row order of the
-- ids BLOB (int64), so 100,000 points read back as two buffers without a per-point row.
CREATE TABLE embedding_layouts (
    layout_key  VARCHAR PRIMARY KEY,
    vector_hash VARCHAR NOT NULL,
    method      VARCHAR NOT NULL,
    params      JSON,
    seed        BIGINT,
    n_points    INTEGER NOT NULL,
    ids         BLOB NOT NULL,
    xy          BLOB NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    seconds     DOUBLE
);
COMMENT ON TABLE embedding_layouts IS 'Cached 2-D layouts of embedding vector sets (the embedding map), one row per vector set, method, parameters and seed.';
COMMENT ON COLUMN embedding_layouts.layout_key IS '32 hex digits of the SHA-256 of vector_hash, method, params and seed.';
COMMENT ON COLUMN embedding_layouts.vector_hash IS '32 hex digits of the BLAKE2b of the point ids (int64) and vectors (float32), in map order.';
COMMENT ON COLUMN embedding_layouts.method IS 'How the layout was made: umap, pca, ...';
COMMENT ON COLUMN embedding_layouts.params IS 'The method''s parameters (n_neighbors, min_dist, sample_threshold, ...) as JSON with sorted keys.';
COMMENT ON COLUMN embedding_layouts.seed IS 'Random seed the layout was made with (it reproduces it).';
COMMENT ON COLUMN embedding_layouts.n_points IS 'Number of points.';
COMMENT ON COLUMN embedding_layouts.ids IS 'embeddings.embedding_id of each point, little-endian int64, in layout row order.';
COMMENT ON COLUMN embedding_layouts.xy IS 'Coordinates, little-endian float32 pairs (x, y), one pair per id, in the same order.';
COMMENT ON COLUMN embedding_layouts.created_at IS 'When the layout was computed.';
COMMENT ON COLUMN embedding_layouts.seconds IS 'How long computing it took, in seconds, when known.';
