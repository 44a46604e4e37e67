// Package query answers reads over the views: one document by id, filtered
// and sorted pages, full-text search with facets, each optionally after a
// read-your-writes wait. The same Server backs the HTTP API (`projector
// serve`, `projector run --serve`) and the `projector query` command.
//
// # Endpoints
//
//	GET /v1/views                    views the token may read: fields and types,
//	                                 sinks, active generation, lag (when Kafka answers)
//	GET /v1/views/{view}/docs/{id}   one document: from Redis when the view has a
//	                                 Redis sink (and PostgreSQL on a miss or while
//	                                 Redis cannot be reached), else PostgreSQL
//	GET /v1/views/{view}/docs        a page from the PostgreSQL reader view
//	GET /v1/views/{view}/search      full text and facets from Elasticsearch
//	GET /v1/openapi.json             an OpenAPI 3.0 description generated from the views
//
// Answers are JSON; errors are {"error": message, "code": code, "param":
// parameter} with 400 (bad parameter, value, operator, cursor, position),
// 401 (no or unknown token), 403 (view not granted), 404 (no such view, doc
// or endpoint, or a store the view is not in), 503 (store_unavailable: a
// store the answer needs cannot be reached or answers 5xx; timeout: the
// stores did not answer in time; both logged, worth a retry), 502
// (store_answer_too_long, bad_store_answer: Elasticsearch answered a
// search with more than its page can hold, or with what does not decode;
// not worth a retry), 504 (position not reached: with "current", each
// partition's progress), 500 (logged, not detailed). A get whose Redis cannot be reached reads
// PostgreSQL instead when the view has it, and logs a warning.
//
// # Document ids
//
// The id is the canonical doc id: for a view with one id field, that
// field's value as text (/docs/42, /docs/ada%40example.com); for several,
// a JSON array of the values as text in the view's id order, path-escaped:
// /docs/%5B%2242%22%2C%227%22%5D for ["42","7"] (numbers may be written
// unquoted). Each value is checked against its field's type (400 if it
// does not fit) and is at most 2,048 bytes, as the engine indexes them (a
// composite id may be longer as a whole); an integer may have leading
// zeros.
//
// # Lists
//
//	?status=shipped                  equality
//	?total[gte]=10&total[lt]=100     gt, gte, lt, lte (also eq)
//	?status[in]=paid,shipped         one of (comma-separated; at most 1000)
//	?customer.id=u1                  a field inside an embedded object (jsonb ->>)
//	&sort=-created_at                one top-level scalar field, - for descending;
//	                                 the id fields break ties in the same direction
//	&limit=20                        1 to 1000, default 50
//	&cursor=…                        next_cursor of the previous page
//
// Only declared scalar fields can be filtered and sorted on (not arrays,
// jsonb, or embedded objects themselves); values are parsed by the field's
// type (integers, decimals without exponent, RFC 3339 timestamps, dates,
// booleans, UUIDs, text) and always bound as parameters: SQL text holds
// only identifiers from the compiled plan. Repeated filters are ANDed. A
// field named like a reserved parameter (sort, limit, cursor, q, facets,
// facet_size, offset, min_position, wait) is filtered with [eq].
//
// Pages use keyset pagination: the answer is {"docs": […], "next_cursor":
// "…" | null}; the cursor holds the sort key values of the last doc and
// continues only the same view, sort and filters. A doc that exists during
// the whole walk, and whose sort field does not change, is returned exactly
// once whatever else is written meanwhile. NULLs sort last ascending and
// first descending (PostgreSQL's order, which its indexes give in both
// directions). Cursors are signed (see cursor.go); a changed one is a 400.
// A sort key too long for a cursor of 4 KB is not carried but read back
// from the last doc; if that doc was deleted or re-sorted meanwhile, the
// cursor is a 400 stale_cursor.
//
// A doc reads the same whichever store answers, as the engine wrote it:
// numbers (numerics, arrays of them, and those inside embedded objects)
// are JSON numbers of exact digits (12.50, [1.50,2.00]; a numeric's NaN is
// "NaN"); timestamps are RFC 3339 in UTC and times have 0, 6 or 9
// fraction digits; bytea is standard base64 with padding ("AQI="); a
// null field is null, also from a Redis hash, which leaves it out: every
// field the Redis sink writes (its fields, or all) that the hash lacks
// reads null. A json/jsonb value in a hash is JSON text (a string quoted);
// one that is not JSON (written raw by an older sink) reads as a string.
//
// # Search
//
//	?q=gift wrap&status=paid&total[gte]=10&facets=status,paid&facet_size=10&sort=-total&limit=20&offset=0
//
// q is a multi_match over the view's text fields; filters become term,
// terms and range filters; facets are terms aggregations: {"docs": […],
// "total": N, "facets": {"status": [{"value": "paid", "count": 3}]}}. A
// facet's value is the field's value as the doc holds it, which filters
// back (a date reads "2022-01-08", not Elasticsearch's date-time; a
// timestamp its key_as_string, RFC 3339 in milliseconds; a boolean true
// or false, not "true"). sort orders as in a list: the id breaks ties in
// the same direction, NULLs come last ascending and first descending. q, facets
// (fields comma-separated), facet_size, sort, limit, offset and wait are
// single-valued: given twice they are a 400.
//
// Each field is compared where the view's index template puts it, its
// mappings overrides included (elasticsearch.Properties): analyzed text on
// its keyword sub-field, a decimal kept as keyword digits on its double
// sub-field "number" (by value, at double precision; facets count the
// digits). A numeric(p,s) equals only values of its scale, as in a list:
// price=12.504 on a numeric(10,2) matches nothing (Elasticsearch would
// round it to 12.50), and [in] leaves such values out; its ranges find
// what a list finds (price[lte]=0.29 finds 0.29). A field whose
// mapping indexes nothing exact is a 400, and a decimal an override leaves
// as bare keyword takes only eq and in, on the digits as written. A
// keyword keeps no value longer than its ignore_above (analyzed text's
// keyword sub-field: 256 characters, counted as UTF-16 units): eq or in
// with a longer value is a 400 bad_value (filter it through /docs), and
// ranges, sorts and facets do not see docs whose value is that long (a
// sort places them as NULLs). offset + limit is at most 10000. Nothing from the
// request is parsed as Elasticsearch query syntax. Fields inside embedded
// objects are stored unindexed and cannot be filtered here.
//
// # Read-your-writes, authentication
//
// See position.go (min_position, the Projector-Min-Position header and
// wait) and auth.go (TokensEnv, CursorKeyEnv, CheckListen).
package query
