// Package config loads projector's YAML configuration: defaults, ${VAR}
// interpolation, strict decoding (unknown keys are errors) and validation that
// reports every problem at once with its file:line:col.
//
// The meaning of views (do the columns exist, do joins type-check) is checked
// by package projections, which uses the positions recorded here (every
// struct's Pos, every map entry's KeyPos) and reports through Errors.
//
// # Loading
//
// Load (or Parse) reads the file, decodes it into Config, applies the
// defaults and validates. Any problem gives (nil, Errors): all of them, sorted,
// one "file:line:col: message" per line; errors.Is(err, ErrInvalid) holds.
//
// # Interpolation
//
// Every scalar value (never a key) may contain ${NAME}, or ${NAME:-default}
// which uses default when NAME is unset or empty. $$ is a literal $, so a
// literal ${ is written $${; a $ followed by anything else is kept.
// Interpolation runs on each scalar after the YAML is parsed, so an
// environment value cannot add YAML structure. An unset variable without a
// default is an error. A value that came from the environment is never
// shown in a message ("value from ${NAME}"). Secrets (passwords, API keys:
// the Secret fields) are never shown at all: a ${ in one that cannot be
// expanded is reported at its key without quoting it, unless the value is
// a single ${NAME}, whose name is shown.
//
// # Values
//
// Lists of names (brokers, key, id, group_by, order_by, fields) are a YAML
// list or one comma-separated string. Durations are Go durations ("30s",
// "10m", "24h") optionally led by days ("7d", "1d12h"); a bare number other
// than 0 needs a unit. Anchors, aliases and merge keys (<<: *x) work.
//
// # Reference
//
//	version: 1                    # required; the only version this build reads
//	kafka:
//	  brokers: host:9092, ...     # required
//	  group: projector            # consumer group
//	  client_id: projector
//	  dead_letter_topic: <group>.dlq   # records that cannot be decoded or projected
//	  batch_size: 10000           # most records projected in one batch
//	  batch_bytes: 16777216       # most bytes of keys and values in one batch
//	  shutdown_timeout: 20s       # a graceful stop gives up on the batches in flight after this (they are consumed again)
//	  schema_registry:            # for Avro sources (Confluent wire format)
//	    url: http://registry:8081 # user:password@ in it is sent as basic auth, never shown
//	    username: ${REGISTRY_USER:-}   # basic auth, optional; wins over the URL's
//	    password: ${REGISTRY_PASSWORD:-}
//	    tls:                      # the registry's HTTPS: same keys and checks as kafka.tls; needs an https url
//	      ca_cert: /etc/registry/ca.pem
//	  tls:                        # TLS to the brokers; writing it turns TLS on (tls: {}, or tls: with nothing under it, uses the system roots)
//	    enabled: true             # default true; false turns TLS off and leaves the keys below unchecked
//	    ca_cert: /etc/kafka/ca.pem    # PEM bundle trusted instead of the system roots
//	    cert: /etc/kafka/client.pem   # client certificate (mTLS); needs key
//	    key: /etc/kafka/client.key
//	    server_name: kafka.internal   # name the brokers' certificates are verified against; default: their host
//	  sasl:                       # authentication to the brokers
//	    mechanism: scram-sha-512  # required: plain | scram-sha-256 | scram-sha-512 | aws_msk_iam | oauthbearer (any case)
//	    username: ${KAFKA_USERNAME}   # plain and scram: both required
//	    password: ${KAFKA_PASSWORD}
//	    # aws_msk_iam takes nothing more: the AWS SDK's default credential chain
//	    # oauthbearer: a client-credentials grant
//	    # token_url: https://idp/oauth2/token   # required; https, or http to this machine
//	    # client_id: ${KAFKA_CLIENT_ID}        # required
//	    # client_secret: ${KAFKA_CLIENT_SECRET} # required
//	    # scope: kafka                          # optional, space-separated
//	    # extensions: { logicalCluster: lkc-1 } # optional SASL extensions
//	stores:
//	  postgres:                   # required: views, state, revisions, registry
//	    url: postgres://user:pass@host:5432/db
//	    schema: projector         # projector's own tables
//	  redis:                      # optional; no url: redis sinks are skipped
//	    url: redis://host:6379/0  # or rediss://; user:password@ for AUTH (refused: projector run does not start)
//	  elasticsearch:              # optional; no url: elasticsearch sinks are skipped
//	    url: https://host:9200
//	    api_key: ...              # or username and password, not both; api_key and password are Secrets
//	    username: ...
//	    password: ...
//	    ca_cert: /path/ca.pem
//	admin:
//	  listen: 127.0.0.1:9464      # /metrics, /healthz, /readyz; "" or "off" disables (Listen is then "")
//	log:
//	  format: text                # text | json
//	  level: info                 # debug | info | warn | error
//	errors:
//	  tolerance: all              # all: dead-letter and go on | none: stop
//	rebuild:
//	  keep: 1h                    # a replaced generation is dropped this long after the swap; --keep overrides
//	  signal_timeout: 6h          # longest wait for an incremental snapshot (rebuild --from signal)
//	state:
//	  tombstone_retention: 30d    # how long deletes are remembered: state tombstones, deleted documents' revisions and store tombstones (longer than the topics keep records); at least 1h; 0s: forever
//	sources:                      # at least one; names match ^[a-z_][a-z0-9_]*$, at most 57 characters
//	  orders:
//	    topic: shop.public.orders # required; one source per topic
//	    format: auto              # auto | json | avro | unwrapped
//	    key: id                   # key columns; default: the record key's fields (a null key: dead letter)
//	    columns:                  # the columns views may use, with their type (see ParseType)
//	      id: bigint
//	      total: numeric(10,2)
//	    signal:                   # the connector's Kafka signal channel, for rebuild --from signal
//	      connector: shop         # its topic.prefix (the signal's key); default: the topic up to the first '.'
//	      topic: shop-signal      # its signal.kafka.topic; default: <connector>-signal
//	      collection: public.orders   # what to snapshot; default: the topic after the first '.'
//	      notifications: shop.notifications   # its notification.sink.topic.name; required for --from signal
//	    unwrapped:                # the SMT's prefixes (not with format json); left out: its default __
//	      fields_prefix: __       # its add.fields.prefix (__op, __lsn, __deleted); not empty
//	      headers_prefix: __      # its add.headers.prefix (a delete's tombstone's __op, __lsn); not empty
//	views:                        # at least one; names match ^[a-z_][a-z0-9_]*$
//	  order_view:
//	    from: orders              # required: the root source
//	    id: id                    # fields identifying a document; default: the key's fields (group_by view: all its group_by columns)
//	    where: status != "x"      # a boolean expression; rows for which it is false have no document
//	    # refresh: 1h             # recompute every document this often (at least 1s): only for a view whose expressions call now()
//	    # group_by: user_id       # (in another view) makes an aggregation view: only group_by columns, agg fields, expr fields over them and one: joins on them
//	    fields:                   # at least one; each has exactly one of column, expr, one, many or agg
//	      id: id                  # short form: a column of the row
//	      status: status
//	      created_at: created_at
//	      total: { column: total, type: numeric }
//	      doubled: { expr: "total * 2", type: numeric }   # type is required with expr, and must fit its result
//	      customer:
//	        one: users            # one-to-one join: an object ...
//	        on: { _id: user_id }  # joined column: column of this row (required with one and many)
//	        where: ...            # boolean filter on the joined rows (one, many, agg)
//	        fields: { id: _id, name: name }   # ... with these fields (one and many only)
//	      customer_name: { one: users, on: { _id: user_id }, column: name }   # one column of the joined row
//	      items:
//	        many: items           # one-to-many join: an array
//	        on: { order_id: id }
//	        order_by: [-created_at]   # many only; "-" for descending; default: the joined key
//	        limit: 5              # many only: the first 5 items; aggregates of: it still see every row
//	        fields: { sku: sku, quantity: quantity }
//	      item_count: { agg: count, of: items }       # count | sum | min | max | avg
//	      quantity: { agg: sum, of: items.quantity }  # of is required except for count
//	      big: { agg: count, of: items, where: quantity > 1 }   # where: over the joined rows (the group's rows in a group_by view)
//	    sinks:                    # at least one; a sink written with nothing under it (postgres:) has its defaults, one written ~ is off
//	      postgres:
//	        table: order_view     # default: the view name
//	        schema: public
//	        fields: [id, total, customer]   # default: every top-level field
//	        indexes:              # fields the table keeps, or paths into joined objects
//	          - { fields: [customer.id], unique: false }
//	      redis:
//	        key: "order:{id}"     # required; {field} placeholders, {{ and }} for literal braces; see Redis keys
//	        format: json          # json | hash | rejson
//	        ttl: 0                # 0: no expiry
//	        fields: [id, total]
//	        indexes:              # secondary indexes: sorted sets of document ids; not with a ttl
//	          - key: "user:{customer.id}:orders"   # required; placeholders name any field, dotted paths reach into joined objects
//	            score: created_at # required: a number, or a date/timestamp scored as epoch milliseconds
//	      elasticsearch:
//	        index: order_view     # the alias readers use; default: the view name
//	        mappings:             # replace the generated mapping of a field (or dotted path into objects and arrays)
//	          status: { type: keyword }
//	          customer.name: { type: text, analyzer: english, fields: { raw: { type: keyword } } }
//
// # Kafka security
//
// The PEM files named under kafka.tls are read when the configuration
// loads (paths relative to the working directory), so a missing or
// malformed file is an error at its key. There is no option to skip
// certificate verification: a private CA goes in ca_cert and an address
// the certificates do not name is fixed with server_name; skipping
// verification would give the SASL password to whoever sits in the middle.
// sasl with mechanism plain and no tls sends the password in clear text:
// it is allowed (a local or private network) and `projector run` warns
// once at start. Credentials belong in the environment (${KAFKA_PASSWORD});
// the password is a Secret, which prints as "[redacted]", and no message
// shows it. kafka.schema_registry.tls is read and checked the same way as
// kafka.tls. A tls key written with nothing under it (null) turns TLS on
// with the system roots, as writing the key promises.
//
// # Expressions and aggregates
//
// Expressions (expr, where) are expr-lang (https://expr-lang.org) over the
// columns of the row, typed by the source's declared columns (integers as
// int64, other numbers as float64, timestamps and dates as time.Time;
// undeclared ones as they come, numbers as int64 or float64), and for expr
// over the fields computed before it at the same level, typed the same
// way. A where must give a boolean and an expr a value that fits its type;
// both are checked when the configuration loads. At run time an error, or
// a number that is not finite (x / 0 divides as floats), makes the value
// null and counts in projector_expression_errors_total.
//
// Aggregates behave as SQL's: they skip nulls (count with of counts the
// non-null values; without of, the rows), and over no values count is 0
// and the others are null. sum and avg need numbers (a column of undeclared
// type is taken as it comes; one declared jsonb, a joined object or a
// nested array is refused), and min and max cannot order objects or
// arrays. A sum keeps its column's scale (10.00 + 5.50 is 15.50). min,
// max and order_by compare numbers as numbers (a numeric's -Infinity,
// Infinity and NaN in PostgreSQL's order, which sums carry as PostgreSQL
// does), timestamps and dates as instants, and the rest as text; order_by
// puts nulls last ascending and first descending, as PostgreSQL does by
// default; rows they leave tied, and the rows a one-to-one join matches
// beyond the first, come in the order of their source's key (as text).
//
// A view's top-level fields cannot be named _rev, _deleted or _updated_at:
// the sinks add columns of those names. Nor, in a view with an
// elasticsearch sink, after one of Elasticsearch's metadata fields (_id,
// _index, _source, _routing, _version, _seq_no, _primary_term, _ignored,
// _field_names, _doc_count, _tier, _data_stream_timestamp, _nested_path,
// _feature), which its mapping cannot define again nor its documents
// carry, or _deleted_at, which the sink writes in tombstones: a MongoDB
// _id is mapped as "id: _id".
//
// # Redis keys
//
// A key template starts with literal text ("order:"), and no two views
// may have templates that can give the same key: a placeholder's value
// may hold any text, so "p:{sku}" for the sku "1:stats" is "p:{sku}:stats"
// for the sku 1, and a template starting with a placeholder could be any
// key of the database, another application's included. Both are refused
// when the configuration loads. Its placeholders are the view's id fields,
// every one of them (checked when the views compile): a field left out
// would give every document that differs only in it one key.
//
// # Redis indexes
//
// Each index is one sorted set per value of its key template, holding the
// ids of the view's documents (the id fields' values; several id fields
// give a JSON array) scored by the score field, so that a reader lists a
// user's orders newest first with ZREVRANGE user:42:orders 0 9 and reads
// each order at its key. A document moves between sorted sets when its
// fields change, its score follows the document, and a deleted document
// leaves every index; this happens in the same atomic, revision-guarded
// write as the document. A document whose placeholder or score is null is
// in no sorted set of that index. A key template without placeholders is
// one sorted set for the whole view. On a Redis Cluster an index key must
// hash to the document key's slot (give both the same {{tag}}).
//
// A sink whose store has no URL is not an error: the daemon runs without it,
// and DisabledSinks lists such sinks so that the CLI can say so once.
package config
