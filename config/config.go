package config

import "time"

// CurrentVersion is the only configuration version this build understands.
const CurrentVersion = 1

// Config is a whole projector.yaml.
type Config struct {
	File    string      `yaml:"-"` // the path it was loaded from
	Version int         `yaml:"version"`
	Kafka   Kafka       `yaml:"kafka"`
	Stores  Stores      `yaml:"stores"`
	Admin   Admin       `yaml:"admin"`
	Log     Log         `yaml:"log"`
	Errors  ErrorPolicy `yaml:"errors"`
	Rebuild Rebuild     `yaml:"rebuild"`
	State   State       `yaml:"state"`
	Sources Map[Source] `yaml:"sources"`
	Views   Map[View]   `yaml:"views"`

	// values is what the decoder recorded about each value, by its
	// address: where it was written (see ValuePos).
	values map[any]*valueInfo
	// envAt is each scalar the environment supplied, by where it was
	// written (see ShowAt).
	envAt map[Pos]*valueInfo
	// source is the file's text, in which TextPos finds places inside a
	// value.
	source []byte
}

// Kafka says where the Debezium topics are and how to consume them.
type Kafka struct {
	Pos      Pos        `yaml:"-"`
	Brokers  StringList `yaml:"brokers"` // a list, or one comma-separated string
	Group    string     `yaml:"group"`
	ClientID string     `yaml:"client_id"`
	// DeadLetterTopic receives records that cannot be decoded or projected.
	// Default: "<group>.dlq".
	DeadLetterTopic string `yaml:"dead_letter_topic"`
	// BatchSize is the most records projected in one batch. Default 10000.
	BatchSize int `yaml:"batch_size"`
	// BatchBytes is the most bytes of record keys and values projected in
	// one batch: a poll is cut into batches of at most this many, a record
	// larger than it being a batch of its own. Processing a batch holds
	// several times its bytes in memory. Default 16 MiB.
	BatchBytes int `yaml:"batch_bytes"`
	// ShutdownTimeout bounds a graceful stop (the first SIGTERM): past it,
	// the batches not yet written are left uncommitted (the next member
	// consumes them again) and the member leaves the group. Default 20s,
	// under Kubernetes' default terminationGracePeriodSeconds (30s).
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// SchemaRegistry is the Confluent-compatible registry Avro sources
	// need; schemas are fetched once by id.
	SchemaRegistry SchemaRegistry `yaml:"schema_registry"`
	// TLS encrypts the connections to the brokers; nil: plaintext.
	TLS *TLS `yaml:"tls"`
	// SASL authenticates to the brokers; nil: no authentication.
	SASL *SASL `yaml:"sasl"`
}

// TLS is how projector speaks TLS to the brokers (kafka.tls) or to the
// schema registry (kafka.schema_registry.tls). Writing the key at all
// turns TLS on: `tls: {}`, or `tls:` with nothing under it, trusts the
// system roots.
type TLS struct {
	Pos Pos `yaml:"-"`
	// Enabled defaults to true when tls is written; false turns TLS off
	// (say, from the environment) and leaves the other keys unchecked.
	Enabled bool `yaml:"enabled"`
	// CACert is a PEM bundle trusted instead of the system roots.
	CACert string `yaml:"ca_cert"`
	// Cert and Key are the client certificate and its private key (PEM),
	// for brokers that authenticate clients by certificate (mTLS).
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// ServerName is the name the brokers' certificates are verified
	// against, when it is not the host of their address.
	ServerName string `yaml:"server_name"`
	// There is deliberately no insecure_skip_verify: a broker with a
	// private CA is trusted through ca_cert, an address its certificate
	// does not name through server_name, and skipping verification would
	// hand the SASL password to whoever sits in the middle.
}

// On reports whether the clients use TLS.
func (t *TLS) On() bool { return t != nil && t.Enabled }

// SASL mechanisms projector speaks, as written in kafka.sasl.mechanism.
const (
	SASLPlain       = "plain"
	SASLScramSHA256 = "scram-sha-256"
	SASLScramSHA512 = "scram-sha-512"
	// SASLAWSMSKIAM signs in with AWS credentials, which come from the
	// AWS SDK's default chain (environment, shared files, web identity,
	// container and instance roles), not from the file.
	SASLAWSMSKIAM = "aws_msk_iam"
	// SASLOAuthBearer presents an OAuth 2.0 token, which an OAuth 2.0
	// client-credentials grant at TokenURL gives.
	SASLOAuthBearer = "oauthbearer"
)

// SASL is how projector's Kafka clients authenticate to the brokers.
type SASL struct {
	Pos Pos `yaml:"-"`
	// Mechanism is plain, scram-sha-256, scram-sha-512, aws_msk_iam or
	// oauthbearer (any case).
	Mechanism string `yaml:"mechanism"`
	// Username and Password are plain's and scram's.
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	// TokenURL, ClientID, ClientSecret and Scope are oauthbearer's: the
	// identity provider's token endpoint and the client it knows
	// projector as. A token is fetched again before it expires.
	TokenURL     string `yaml:"token_url"`
	ClientID     string `yaml:"client_id"`
	ClientSecret Secret `yaml:"client_secret"`
	Scope        string `yaml:"scope"` // space-separated; optional
	// Extensions are oauthbearer's SASL extensions (RFC 7628), such as
	// Confluent Cloud's logicalCluster and identityPoolId.
	Extensions Map[string] `yaml:"extensions"`
}

// Secret is a credential. It prints as "[redacted]" (fmt, slog, JSON), so
// that a configuration logged or dumped by mistake does not leak it;
// string(s) is the value.
type Secret string

// SchemaRegistry is a Confluent-compatible schema registry.
type SchemaRegistry struct {
	Pos Pos `yaml:"-"`
	// URL is empty for none. Credentials written in it (https://user:pass@host)
	// are used as Username and Password, which take precedence.
	URL      string `yaml:"url"`
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	// TLS is the registry's HTTPS: a private CA, a client certificate. An
	// https URL without it trusts the system roots.
	TLS *TLS `yaml:"tls"`
}

// Stores are the read stores. An empty URL disables that store.
type Stores struct {
	Postgres      PostgresStore      `yaml:"postgres"`
	Redis         RedisStore         `yaml:"redis"`
	Elasticsearch ElasticsearchStore `yaml:"elasticsearch"`
}

// PostgresStore is the query PostgreSQL: it holds the views and, in Schema,
// projector's own state, revisions and registry.
type PostgresStore struct {
	Pos    Pos    `yaml:"-"`
	URL    string `yaml:"url"`
	Schema string `yaml:"schema"` // projector's own tables; default "projector"
}

// RedisStore is the Redis server.
type RedisStore struct {
	Pos Pos    `yaml:"-"`
	URL string `yaml:"url"`
}

// ElasticsearchStore is the Elasticsearch cluster.
type ElasticsearchStore struct {
	Pos      Pos    `yaml:"-"`
	URL      string `yaml:"url"`
	APIKey   Secret `yaml:"api_key"`
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	CACert   string `yaml:"ca_cert"` // path to a PEM file
	// RequestTimeout bounds one request (a _bulk of up to 8 MB included):
	// a cluster that took it and never answers is then an outage, retried,
	// rather than a write that waits for ever on a dead connection.
	RequestTimeout Duration `yaml:"request_timeout"`
}

// Admin is the HTTP listener for /metrics, /healthz and /readyz.
type Admin struct {
	Pos    Pos    `yaml:"-"`
	Listen string `yaml:"listen"` // default (also when "") "127.0.0.1:9464"; "off" disables
}

// Log configures log/slog.
type Log struct {
	Pos    Pos    `yaml:"-"`
	Format string `yaml:"format"` // text (default) or json
	Level  string `yaml:"level"`  // debug, info (default), warn, error
}

// ErrorPolicy says what happens to a record that cannot be decoded or projected.
type ErrorPolicy struct {
	Pos       Pos    `yaml:"-"`
	Tolerance string `yaml:"tolerance"` // all (default: dead-letter and go on) or none (stop)
}

// Rebuild holds the defaults of `projector rebuild`.
type Rebuild struct {
	Pos Pos `yaml:"-"`
	// Keep is how long a generation replaced by a rebuild stays (readers'
	// queries in flight, a look back) before it is dropped. Default 1h;
	// "0s" drops it at the swap. --keep overrides it.
	Keep Duration `yaml:"keep"`
	// SignalTimeout bounds the wait for a Debezium incremental snapshot
	// requested by `rebuild --from signal`. Default 6h.
	SignalTimeout Duration `yaml:"signal_timeout"`
}

// State configures the state projector keeps in the query PostgreSQL.
type State struct {
	Pos Pos `yaml:"-"`
	// TombstoneRetention is how long the state keeps a deleted row's
	// tombstone, which stops an older change of the row, replayed later,
	// from bringing it back: it should outlast the topics' records. Default
	// 30d (Kafka keeps a record up to retention.ms + segment.ms, 14 days by
	// default); at least 1h; "0s" keeps tombstones forever.
	TombstoneRetention Duration `yaml:"tombstone_retention"`
}

// Source is one Debezium topic: a table (PostgreSQL) or collection (MongoDB).
type Source struct {
	Pos    Pos    `yaml:"-"`
	Topic  string `yaml:"topic"`
	Format string `yaml:"format"` // auto (default), json, avro, unwrapped
	// Key lists the key columns. Default: the fields of the record key.
	Key StringList `yaml:"key"`
	// Columns declares the columns views may use, with their SQL type
	// (bigint, integer, numeric(10,2), text, boolean, timestamptz, timestamp,
	// date, jsonb, ...). Only these are kept in the state (slim state), and the
	// types are the decoding hints for schemaless messages.
	Columns Map[string] `yaml:"columns"`
	// Signal reaches the source's Debezium connector through its Kafka
	// signal channel, for `rebuild --from signal`.
	Signal Signal `yaml:"signal"`
	// Unwrapped says how the connector's ExtractNewRecordState or
	// ExtractNewDocumentState names the members it adds.
	Unwrapped Unwrapped `yaml:"unwrapped"`
}

// Unwrapped are the prefixes the SMT that unwraps a source's change events
// was given. The op and the position are read from the members so named
// only: with the wrong prefix they would be taken for columns, deletes for
// upserts and changes for unordered ones.
type Unwrapped struct {
	Pos Pos `yaml:"-"`
	// FieldsPrefix is the SMT's add.fields.prefix, which starts the names
	// of the members add.fields adds to a row (meta_op, meta_lsn, and the
	// delete rewrite's meta_deleted). Default "__", the SMT's own.
	FieldsPrefix string `yaml:"fields_prefix"`
	// HeadersPrefix is the SMT's add.headers.prefix, which starts the
	// names of the headers add.headers adds (those that make a delete's
	// tombstone a positioned delete). Default "__".
	HeadersPrefix string `yaml:"headers_prefix"`
}

// Signal says how to ask a source's Debezium connector for an incremental
// snapshot of its table or collection, and where it reports completion.
type Signal struct {
	Pos Pos `yaml:"-"`
	// Topic is the connector's signal.kafka.topic. Default "<connector>-signal",
	// Debezium's own default.
	Topic string `yaml:"topic"`
	// Connector is the connector's topic.prefix: Debezium acts only on
	// signals keyed by it. Default: the source topic up to its first '.'.
	Connector string `yaml:"connector"`
	// Collection is the data collection to snapshot, as the connector names
	// it ("schema.table" for PostgreSQL, "database.collection" for MongoDB).
	// Default: the source topic after its first '.'.
	Collection string `yaml:"collection"`
	// Notifications is the connector's notification.sink.topic.name (with
	// notification.enabled.channels=sink): the rebuild learns there that
	// the snapshot completed. Required for --from signal.
	Notifications string `yaml:"notifications"`
}

// View is one read model: documents computed from a root source, optionally
// joined with others or aggregated, written to one or more sinks.
type View struct {
	Pos  Pos    `yaml:"-"`
	From string `yaml:"from"` // the root source
	// ID names the view fields that identify a document. Default: the fields
	// that map the root source's key columns (or the group_by columns).
	ID StringList `yaml:"id"`
	// Where is an expression over the root row; rows for which it is false
	// have no document.
	Where string `yaml:"where"`
	// GroupBy makes this an aggregation view: one document per distinct value
	// of these root columns.
	GroupBy StringList `yaml:"group_by"`
	Fields  Map[Field] `yaml:"fields"`
	Sinks   Sinks      `yaml:"sinks"`
	// Refresh recomputes every document of a view whose expressions call
	// now() this often, so that a time window moves with no change to
	// its rows. 0: never.
	Refresh Duration `yaml:"refresh"`
}

// Field is one field of a view document. Its YAML short form is a bare column
// name (`name: column`); the long form is a mapping with exactly one of
// column, expr, one, many or agg.
type Field struct {
	Pos    Pos    `yaml:"-"`
	Column string `yaml:"column"` // a column of the enclosing row (or of the joined row, with One)
	Expr   string `yaml:"expr"`   // an expression over the enclosing row and the fields before it
	Type   string `yaml:"type"`   // SQL type; required with expr, otherwise inferred

	One     string      `yaml:"one"`      // one-to-one join: the joined source (object, or Column of it)
	Many    string      `yaml:"many"`     // one-to-many join: the joined source (array)
	On      Map[string] `yaml:"on"`       // joined column: column of the enclosing row
	Where   string      `yaml:"where"`    // filter on the joined rows
	OrderBy StringList  `yaml:"order_by"` // for many: columns, "-col" for descending
	// Limit keeps the first Limit items of a many array (in order_by
	// order); aggregates over the array still see every joined row.
	Limit  int        `yaml:"limit"`
	Fields Map[Field] `yaml:"fields"` // fields of the joined object / array items

	Agg string `yaml:"agg"` // count, sum, min, max, avg
	Of  string `yaml:"of"`  // the column (group_by views) or nested array field ("items", "items.quantity")
}

// Sinks are the stores one view is written to. A nil sink is not used.
type Sinks struct {
	Postgres      *PostgresSink      `yaml:"postgres"`
	Redis         *RedisSink         `yaml:"redis"`
	Elasticsearch *ElasticsearchSink `yaml:"elasticsearch"`
}

// PostgresSink writes the view into a table of the query PostgreSQL.
type PostgresSink struct {
	Pos     Pos        `yaml:"-"`
	Table   string     `yaml:"table"`   // default: the view name
	Schema  string     `yaml:"schema"`  // default "public"
	Fields  StringList `yaml:"fields"`  // default: every top-level field
	Indexes []Index    `yaml:"indexes"` // secondary indexes
}

// Index is a secondary index of a PostgreSQL view table.
type Index struct {
	Pos    Pos        `yaml:"-"`
	Fields StringList `yaml:"fields"` // fields or jsonb paths ("customer.id")
	Unique bool       `yaml:"unique"`
}

// RedisSink writes each document at a key.
type RedisSink struct {
	Pos    Pos        `yaml:"-"`
	Key    string     `yaml:"key"`    // template over id fields: "order:{id}"
	Format string     `yaml:"format"` // json (default), hash, rejson
	TTL    Duration   `yaml:"ttl"`    // 0: no expiry
	Fields StringList `yaml:"fields"` // default: every top-level field
	// Indexes are secondary indexes: sorted sets of document ids. A view
	// with indexes cannot have a TTL (sorted set members do not expire).
	Indexes []RedisIndex `yaml:"indexes"`
}

// RedisIndex is a secondary index of a Redis view: one sorted set per
// value of its key template, holding the ids of the documents with that
// value, scored by a field. A document moves between sorted sets as its
// fields change and leaves them all when deleted.
type RedisIndex struct {
	Pos Pos `yaml:"-"`
	// Key is a template over document fields, dotted paths reaching into
	// joined objects: "user:{customer.id}:orders". A document whose
	// placeholder or score is null is not in the index.
	Key string `yaml:"key"`
	// Score is the field (or dotted path) scoring the members: a number,
	// or a date or timestamp, scored as milliseconds since the Unix epoch.
	Score string `yaml:"score"`
}

// ElasticsearchSink writes each document into an index behind an alias.
type ElasticsearchSink struct {
	Pos   Pos    `yaml:"-"`
	Index string `yaml:"index"` // the alias readers use; default: the view name
	// Mappings replaces the generated Elasticsearch mapping of a field
	// (name, or dotted path into a joined object or array) with the
	// mapping object given: { type: keyword }, { type: text, analyzer:
	// english }, … Values are decoded as YAML into map[string]any.
	Mappings Map[map[string]any] `yaml:"mappings"`
}

// Pos is a place in a configuration file. Line and Col are 1-based.
type Pos struct {
	File      string
	Line, Col int
}

// Map is a YAML mapping decoded in file order.
type Map[T any] []Entry[T]

// Entry is one key of a Map with its value and where the key stands.
type Entry[T any] struct {
	Key    string
	KeyPos Pos
	Value  T
}

// Get returns the value at key.
func (m Map[T]) Get(key string) (T, bool) {
	for _, e := range m {
		if e.Key == key {
			return e.Value, true
		}
	}
	var zero T
	return zero, false
}

// StringList is a YAML sequence of strings, or one scalar (split on commas).
type StringList []string

// Duration is a time.Duration written as "30s", "10m", "24h".
type Duration time.Duration
