package config

import (
	"strings"
	"time"
)

// Defaults applied after decoding and before validation.
const (
	DefaultGroup          = "projector"
	DefaultClientID       = "projector"
	DefaultBatchSize      = 10000
	DefaultBatchBytes     = 16 << 20
	DefaultShutdown       = Duration(20 * time.Second)
	DefaultStateSchema    = "projector"
	DefaultAdminListen    = "127.0.0.1:9464"
	DefaultLogFormat      = "text"
	DefaultLogLevel       = "info"
	DefaultTolerance      = "all"
	DefaultSourceFormat   = "auto"
	DefaultUnwrapPrefix   = "__" // the SMT's add.fields.prefix and add.headers.prefix
	DefaultViewSchema     = "public"
	DefaultRedisFormat    = "json"
	DefaultRebuildKeep    = Duration(time.Hour)
	DefaultSignalTimeout  = Duration(6 * time.Hour)
	DefaultTombstones     = Duration(30 * 24 * time.Hour)
	MinTombstoneRetention = Duration(time.Hour)   // validate's message says 1h
	MinRefresh            = Duration(time.Second) // validate's message says 1s
	deadLetterTopicSuffix = ".dlq"
	// DefaultESRequestTimeout is Elasticsearch's own bulk timeout (1m,
	// waiting for active shards) and room to answer.
	DefaultESRequestTimeout = Duration(2 * time.Minute)
)

// applyDefaults fills what the file left out. An empty string counts as left
// out, except admin.listen, where an explicit "" (or "off") turns the
// listener off; an explicit batch_size: 0 or batch_bytes: 0 is kept for
// validation to reject.
func (c *Config) applyDefaults(d *decoder) {
	k := &c.Kafka
	setDefault(&k.Group, DefaultGroup)
	setDefault(&k.ClientID, DefaultClientID)
	setDefault(&k.DeadLetterTopic, k.Group+deadLetterTopicSuffix)
	if !d.present(&k.BatchSize) || d.info[&k.BatchSize].bad {
		k.BatchSize = DefaultBatchSize
	}
	if !d.present(&k.BatchBytes) || d.info[&k.BatchBytes].bad {
		k.BatchBytes = DefaultBatchBytes
	}
	if !d.present(&k.ShutdownTimeout) || d.info[&k.ShutdownTimeout].bad {
		k.ShutdownTimeout = DefaultShutdown
	}
	writtenTLS(d, &k.TLS)
	writtenTLS(d, &k.SchemaRegistry.TLS)
	if k.SASL != nil {
		// Kafka's own documentation writes them in capitals.
		k.SASL.Mechanism = strings.ToLower(k.SASL.Mechanism)
	}
	setDefault(&c.Stores.Postgres.Schema, DefaultStateSchema)
	if es := &c.Stores.Elasticsearch; !d.present(&es.RequestTimeout) || d.info[&es.RequestTimeout].bad {
		es.RequestTimeout = DefaultESRequestTimeout
	}
	switch {
	case !d.present(&c.Admin.Listen):
		c.Admin.Listen = DefaultAdminListen
	case c.Admin.Listen == "off":
		c.Admin.Listen = "" // one spelling of "disabled" for the daemon
	}
	setDefault(&c.Log.Format, DefaultLogFormat)
	setDefault(&c.Log.Level, DefaultLogLevel)
	setDefault(&c.Errors.Tolerance, DefaultTolerance)
	if !d.present(&c.Rebuild.Keep) || d.info[&c.Rebuild.Keep].bad {
		c.Rebuild.Keep = DefaultRebuildKeep
	}
	if !d.present(&c.Rebuild.SignalTimeout) || d.info[&c.Rebuild.SignalTimeout].bad {
		c.Rebuild.SignalTimeout = DefaultSignalTimeout
	}
	if !d.present(&c.State.TombstoneRetention) || d.info[&c.State.TombstoneRetention].bad {
		c.State.TombstoneRetention = DefaultTombstones
	}
	for i := range c.Sources {
		s := &c.Sources[i].Value
		setDefault(&s.Format, DefaultSourceFormat)
		// Only a prefix left out is the SMT's default: an empty one
		// written is kept for validation to refuse.
		for _, pre := range []*string{&s.Unwrapped.FieldsPrefix, &s.Unwrapped.HeadersPrefix} {
			if !d.present(pre) || d.info[pre].bad {
				*pre = DefaultUnwrapPrefix
			}
		}
		// Debezium names a topic <topic.prefix>.<schema or database>.<table
		// or collection> unless a router renamed it; its signal topic
		// defaults to <topic.prefix>-signal.
		if prefix, collection, ok := strings.Cut(s.Topic, "."); ok {
			setDefault(&s.Signal.Connector, prefix)
			setDefault(&s.Signal.Collection, collection)
		}
		if s.Signal.Connector != "" {
			setDefault(&s.Signal.Topic, s.Signal.Connector+"-signal")
		}
	}
	for i := range c.Views {
		name, s := c.Views[i].Key, &c.Views[i].Value.Sinks
		// A sink written with nothing under it (`postgres:`, its keys
		// commented out) is that sink with its defaults, not no sink; one
		// written as ~ or null is turned off (over a merged set, say).
		if vi := d.info[&s.Postgres]; s.Postgres == nil && vi != nil && vi.empty {
			s.Postgres = &PostgresSink{Pos: vi.pos}
		}
		if vi := d.info[&s.Redis]; s.Redis == nil && vi != nil && vi.empty {
			s.Redis = &RedisSink{Pos: vi.pos}
		}
		if vi := d.info[&s.Elasticsearch]; s.Elasticsearch == nil && vi != nil && vi.empty {
			s.Elasticsearch = &ElasticsearchSink{Pos: vi.pos}
		}
		if s.Postgres != nil {
			setDefault(&s.Postgres.Table, name)
			setDefault(&s.Postgres.Schema, DefaultViewSchema)
		}
		if s.Redis != nil {
			setDefault(&s.Redis.Format, DefaultRedisFormat)
		}
		if s.Elasticsearch != nil {
			setDefault(&s.Elasticsearch.Index, name)
		}
	}
}

// writtenTLS turns TLS on where the tls key was written: with keys under
// it unless enabled: false, and with none at all (`tls:`, every sub-key
// commented out), which decodes as null but asks for TLS all the same,
// with the system roots. Reading it as absent would speak plaintext to a
// broker the file says is reached over TLS.
func writtenTLS(d *decoder, t **TLS) {
	if vi := d.info[t]; *t == nil && vi != nil && vi.null {
		*t = &TLS{Pos: vi.pos}
	}
	if *t != nil && !d.present(&(*t).Enabled) {
		(*t).Enabled = true
	}
}

func setDefault(s *string, def string) {
	if *s == "" {
		*s = def
	}
}
