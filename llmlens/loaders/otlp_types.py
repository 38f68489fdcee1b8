"""The OTLP JSON shapes as DuckDB types: records are parsed straight into them, the way ``read_json`` parses."""

from __future__ import annotations

KEY_VALUES = (
    "STRUCT(key VARCHAR, value STRUCT(stringValue VARCHAR, boolValue BOOLEAN, intValue VARCHAR, "
    "doubleValue DOUBLE, bytesValue VARCHAR, arrayValue JSON, kvlistValue JSON))[]"
)
SPAN = (
    f"STRUCT(traceId VARCHAR, spanId VARCHAR, parentSpanId VARCHAR, name VARCHAR, kind VARCHAR, "
    f"startTimeUnixNano VARCHAR, endTimeUnixNano VARCHAR, attributes {KEY_VALUES}, events JSON, links JSON, "
    f"status STRUCT(code VARCHAR, message VARCHAR))"
)
SCOPE_SPANS = f"STRUCT(scope STRUCT(name VARCHAR, version VARCHAR), spans {SPAN}[])"
TRACES_DATA = f"STRUCT(resourceSpans STRUCT(resource STRUCT(attributes {KEY_VALUES}), scopeSpans {SCOPE_SPANS}[])[])"
"""The OTLP JSON shape as a DuckDB type: records are parsed straight into it, the same way read_json parses."""

LOG_RECORD = (
    f"STRUCT(timeUnixNano VARCHAR, observedTimeUnixNano VARCHAR, severityNumber VARCHAR, severityText VARCHAR, "
    f"body JSON, attributes {KEY_VALUES}, traceId VARCHAR, spanId VARCHAR, eventName VARCHAR)"
)
LOGS_DATA = (
    f"STRUCT(resourceLogs STRUCT(resource STRUCT(attributes {KEY_VALUES}), "
    f"scopeLogs STRUCT(scope STRUCT(name VARCHAR, version VARCHAR), logRecords {LOG_RECORD}[])[])[])"
)
