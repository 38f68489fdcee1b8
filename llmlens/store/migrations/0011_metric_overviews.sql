-- Metric overviews: every series (run, key) cut into at most 4,096 equal step ranges, each keeping its lowest and
-- highest finite value, its last value and its point counts, so a chart zoomed out over 1,000 runs reads 1,000 rows
-- of lists instead of 10 M points. Kept by every load (the rows of the series it wrote points of); filled here for
-- the points a store already holds (about 100 s per 100 M points on two cores).
CREATE MACRO metric_overview_rows(runs, keys) AS TABLE
WITH picked AS (
    SELECT run_id, key, step, value, superseded FROM metrics
    WHERE (runs IS NULL OR list_contains(runs, run_id)) AND (keys IS NULL OR list_contains(keys, key))
), series AS (
    SELECT run_id, key, count(*) AS n_rows,
           min(step) FILTER (WHERE NOT superseded) AS lo, max(step) FILTER (WHERE NOT superseded) AS hi
    FROM picked GROUP BY run_id, key
), cut AS (
    SELECT *, (hi - lo) // 4096 + 1 AS width FROM series
), fine AS (
    SELECT p.run_id, p.key, (p.step - c.lo) // c.width AS bucket,
           min(p.value) FILTER (WHERE isfinite(p.value)) AS low,
           max(p.value) FILTER (WHERE isfinite(p.value)) AS high,
           arg_max(p.value, p.step) AS last,
           count(*) AS points,
           count(*) FILTER (WHERE NOT isfinite(p.value)) AS non_finite,
           count(*) = least(c.lo + (bucket + 1) * c.width, c.hi + 1) - c.lo - bucket * c.width AS complete
    FROM picked p JOIN cut c ON p.run_id = c.run_id AND p.key = c.key
    WHERE NOT p.superseded AND p.step IS NOT NULL
    GROUP BY p.run_id, p.key, c.lo, c.hi, c.width, bucket
), listed AS (
    SELECT run_id, key, count(*) AS filled, sum(points) AS n_points, sum(non_finite) AS n_non_finite,
           bool_and(complete) AS complete,
           list({'bucket': bucket, 'low': low, 'high': high, 'last': last, 'points': points,
                 'non_finite': non_finite} ORDER BY bucket) AS entries
    FROM fine GROUP BY run_id, key
)
SELECT c.run_id, c.key, c.n_rows, coalesce(l.n_points, 0) AS n_points, c.lo, c.hi, c.width,
       CASE WHEN l.filled <> (c.hi - c.lo) // c.width + 1
            THEN CAST(list_transform(l.entries, lambda e: e.bucket) AS SMALLINT[]) END AS bucket,
       CAST(list_transform(l.entries, lambda e: e.low) AS FLOAT[]) AS low,
       CAST(list_transform(l.entries, lambda e: e.high) AS FLOAT[]) AS high,
       CAST(list_transform(l.entries, lambda e: e.last) AS FLOAT[]) AS last,
       CASE WHEN NOT l.complete OR l.filled <> (c.hi - c.lo) // c.width + 1
            THEN CAST(list_transform(l.entries, lambda e: e.points) AS INTEGER[]) END AS points,
       CASE WHEN l.n_non_finite > 0
            THEN CAST(list_transform(l.entries, lambda e: e.non_finite) AS INTEGER[]) END AS non_finite
FROM cut c LEFT JOIN listed l ON c.run_id = l.run_id AND c.key = l.key;
COMMENT ON MACRO TABLE metric_overview_rows IS 'The rows of metric_overviews for the series of the runs and keys given (lists; NULL for all), computed from metrics: the definition of a row of metric_overviews.';

CREATE TABLE metric_overviews (
    run_id     VARCHAR NOT NULL,
    key        VARCHAR NOT NULL,
    n_rows     BIGINT NOT NULL,
    n_points   BIGINT NOT NULL,
    lo         BIGINT,
    hi         BIGINT,
    width      BIGINT,
    bucket     SMALLINT[],
    low        FLOAT[],
    high       FLOAT[],
    last       FLOAT[],
    points     INTEGER[],
    non_finite INTEGER[]
);
INSERT INTO metric_overviews BY NAME SELECT * FROM metric_overview_rows(NULL, NULL) ORDER BY key, run_id;
-- A chart reads one key's rows: found by the index, only their lists are read, wherever loads left them.
CREATE INDEX metric_overviews_key ON metric_overviews (key);
COMMENT ON TABLE metric_overviews IS 'One row per metric series (run_id, key): its points (not superseded) cut into at most 4,096 equal step ranges (buckets) between its first and last step, in bucket order; a bucket without points is left out. What a chart zoomed out on the step axis reads instead of the points. Kept current by every load (rows of metric_overview_rows for the series the load wrote); while the n_rows of all rows add up to the rows of metrics, it covers every point.';
COMMENT ON COLUMN metric_overviews.run_id IS 'runs.run_id.';
COMMENT ON COLUMN metric_overviews.key IS 'metrics.key.';
COMMENT ON COLUMN metric_overviews.n_rows IS 'Rows of the series in metrics, superseded points and points without a step included (what shows the overviews cover the table).';
COMMENT ON COLUMN metric_overviews.n_points IS 'Points in the buckets: the series'' points that are not superseded and have a step.';
COMMENT ON COLUMN metric_overviews.lo IS 'First step (NULL when the series has no points in buckets).';
COMMENT ON COLUMN metric_overviews.hi IS 'Last step.';
COMMENT ON COLUMN metric_overviews.width IS 'Steps per bucket, (hi - lo) // 4096 + 1: bucket i holds steps lo + i * width to lo + (i + 1) * width - 1 (a single step each for series of up to 4,096 steps).';
COMMENT ON COLUMN metric_overviews.bucket IS 'Bucket of each entry of the lists below, ascending; NULL when every bucket from 0 to (hi - lo) // width holds points (entry i is bucket i).';
COMMENT ON COLUMN metric_overviews.low IS 'Lowest finite value of each bucket (NULL where a bucket holds only NaN or infinite values).';
COMMENT ON COLUMN metric_overviews.high IS 'Highest finite value of each bucket (NULL where a bucket holds only NaN or infinite values).';
COMMENT ON COLUMN metric_overviews.last IS 'Value of each bucket''s point with the highest step (NaN and infinities as logged).';
COMMENT ON COLUMN metric_overviews.points IS 'Points in each bucket; NULL when every bucket holds as many points as it has steps (a series logged once at every step).';
COMMENT ON COLUMN metric_overviews.non_finite IS 'NaN or infinite points in each bucket; NULL when the series has none.';
