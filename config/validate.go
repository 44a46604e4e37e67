package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/projectorhq/projector/debezium"
)

// validator checks the structure of a decoded Config and the references
// between its parts. The meaning of fields, columns, expressions and joins
// is checked by package projections.
type validator struct {
	c *Config
	d *decoder
	// redisKeys are the Redis key templates of every view, its documents'
	// and its indexes': no two may give the same key (redisKeyOverlaps).
	redisKeys []redisKey
}

// add records a problem; a position that was never set (a struct built by
// defaults) becomes the top of the file rather than a nameless place.
func (v *validator) add(p Pos, format string, args ...any) {
	if p.IsZero() {
		p = v.d.top()
	}
	v.d.errs.Add(p, format, args...)
}

// info returns what the decoder recorded about *ptr, nil when absent.
func (v *validator) info(ptr any) *valueInfo { return v.d.info[ptr] }

// at returns where *ptr was written, else the first non-zero fallback, else
// the top of the file.
func (v *validator) at(ptr any, fallbacks ...Pos) Pos {
	if vi := v.info(ptr); vi != nil {
		return vi.pos
	}
	for _, p := range fallbacks {
		if !p.IsZero() {
			return p
		}
	}
	return v.d.top()
}

// show renders the string *ptr for a message without revealing a value that
// came from the environment.
func (v *validator) show(ptr *string) string { return v.info(ptr).show(*ptr) }

// showList renders a list for a message (see showList).
func (v *validator) showList(ptr *StringList) string { return showList(v.info(ptr), *ptr) }

// usable reports whether *ptr holds something validation should look at: it
// was not absent-by-failure. A value that failed to decode already has its
// error, and checking its zero value would only add noise.
func (v *validator) usable(ptr any) bool {
	vi := v.info(ptr)
	return vi == nil || !vi.bad
}

// oneOf checks an enumerated string.
func (v *validator) oneOf(ptr *string, label string, allowed ...string) {
	if v.usable(ptr) && !slices.Contains(allowed, *ptr) {
		v.add(v.at(ptr), "%s must be one of %s, got %s", label, strings.Join(allowed, ", "), v.show(ptr))
	}
}

var (
	// name is a source or view name: it becomes part of table names, metric
	// labels and CLI arguments.
	name = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	// fieldName is a document field: a JSON key, a PostgreSQL column, a
	// {placeholder}; dots are reserved for paths into joined objects.
	fieldName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// topicName is what Kafka accepts.
	topicName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)
)

const maxIdent = 63 // PostgreSQL's identifier length

// maxSourceName keeps a source's state table name, state_<source>, whole.
const maxSourceName = maxIdent - len("state_")

func validName(s string) bool { return name.MatchString(s) && len(s) <= maxIdent }

func validTopic(s string) bool { return topicName.MatchString(s) && s != "." && s != ".." }

func (v *validator) validate() {
	v.version()
	if v.d.offline {
		// Nothing is connected to: only what the engine itself uses.
		v.batchSize()
	} else {
		v.kafka()
		v.stores()
		v.adminListen()
	}
	v.runtime()
	v.rebuild()
	v.sources()
	v.views()
}

func (v *validator) version() {
	c := &v.c.Version
	vi := v.info(c)
	switch {
	case vi == nil || vi.null:
		v.add(v.d.top(), "version is required (version: %d)", CurrentVersion)
	case !vi.bad && *c != CurrentVersion:
		v.add(vi.pos, "unsupported version %s (this build reads version %d)", vi.showInt(*c), CurrentVersion)
	}
}

func (v *validator) kafka() {
	k := &v.c.Kafka
	if !v.usable(k) {
		return
	}
	if len(k.Brokers) == 0 && v.usable(&k.Brokers) {
		v.add(v.at(&k.Brokers, k.Pos), "kafka.brokers is required (a list of host:port, or one comma-separated string)")
	}
	if vi := v.info(&k.Brokers); vi != nil && v.usable(&k.Brokers) {
		for i, b := range k.Brokers {
			// An item that is an unset ${NAME} read offline holds the
			// reference's text, not an address: unchecked, as the whole
			// list is when it is one such string.
			if i < len(vi.items) && !vi.items[i].unset && checkHostPort(b, false) != nil {
				item := vi.items[i]
				v.add(item.pos, "kafka broker must be host:port, got %s", item.show(b))
			}
		}
	}
	v.batchSize()
	if v.usable(&k.BatchBytes) && k.BatchBytes <= 0 {
		v.add(v.at(&k.BatchBytes, k.Pos), "kafka.batch_bytes must be positive, got %s", v.info(&k.BatchBytes).showInt(k.BatchBytes))
	}
	if v.usable(&k.ShutdownTimeout) && k.ShutdownTimeout <= 0 {
		v.add(v.at(&k.ShutdownTimeout, k.Pos), "kafka.shutdown_timeout must be positive: how long a graceful stop waits for the batches in flight")
	}
	v.schemaRegistry(&k.SchemaRegistry)
	v.tlsSettings(k.TLS, "kafka.tls")
	v.kafkaSASL(k.SASL)
	if v.usable(&k.DeadLetterTopic) && !validTopic(k.DeadLetterTopic) {
		switch {
		case v.info(&k.DeadLetterTopic) != nil:
			v.add(v.at(&k.DeadLetterTopic), "kafka.dead_letter_topic must be a Kafka topic name (letters, digits, '.', '_', '-'), got %s", v.show(&k.DeadLetterTopic))
		case v.usable(&k.Group): // else the group is not known, nor the default
			v.add(v.at(&k.Group, k.Pos), "the default kafka.dead_letter_topic (kafka.group + %q) is not a valid Kafka topic name; set kafka.dead_letter_topic", deadLetterTopicSuffix)
		}
	}
}

// maxBatchSize bounds kafka.batch_size.
const maxBatchSize = 1_000_000

func (v *validator) batchSize() {
	k := &v.c.Kafka
	if !v.usable(k) || !v.usable(&k.BatchSize) {
		return
	}
	switch {
	case k.BatchSize <= 0:
		v.add(v.at(&k.BatchSize, k.Pos), "kafka.batch_size must be positive, got %s", v.info(&k.BatchSize).showInt(k.BatchSize))
	case k.BatchSize > maxBatchSize:
		// Batches are held in memory, and a fan-out reads its rows
		// batch_size at a time through a cursor PostgreSQL bounds.
		v.add(v.at(&k.BatchSize, k.Pos), "kafka.batch_size must be at most %d, got %s", maxBatchSize, v.info(&k.BatchSize).showInt(k.BatchSize))
	}
}

// CheckAdminListen checks an address for the admin endpoints given outside
// the file (serve --admin-listen) as admin.listen is checked: host:port,
// ":port", or "off" (or "") for none.
func CheckAdminListen(s string) error {
	if s == "" || s == "off" {
		return nil
	}
	if err := checkHostPort(s, true); err != nil {
		return fmt.Errorf(`must be host:port, ":port", or "off": %w`, err)
	}
	return nil
}

// checkHostPort checks host:port with a port in 1..65535; emptyHost allows
// ":port" (every interface) and port 0 (a listener on any free port).
func checkHostPort(s string, emptyHost bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	if host == "" && !emptyHost {
		return errors.New("missing host")
	}
	lowest := 1
	if emptyHost {
		lowest = 0
	}
	if n, err := strconv.Atoi(port); err != nil || n < lowest || n > 65535 {
		return errors.New("port must be a number from 1 to 65535")
	}
	return nil
}

func (v *validator) stores() {
	s := &v.c.Stores
	if !v.usable(s) || !v.usable(&s.Postgres) {
		return
	}
	pg := &s.Postgres
	storesPos := v.at(s)
	switch {
	case !v.usable(&pg.URL):
	case pg.URL == "":
		v.add(v.at(&pg.URL, pg.Pos, storesPos), "stores.postgres.url is required: projector keeps its state in PostgreSQL")
	default:
		v.checkURL(&pg.URL, "stores.postgres.url", false, "postgres", "postgresql")
	}
	if v.usable(&pg.Schema) && !validName(pg.Schema) {
		v.add(v.at(&pg.Schema, pg.Pos, storesPos), "stores.postgres.schema must be lowercase letters, digits and _, not starting with a digit, got %s", v.show(&pg.Schema))
	}
	if s.Redis.URL != "" && v.usable(&s.Redis.URL) {
		v.checkURL(&s.Redis.URL, "stores.redis.url", true, "redis", "rediss")
	}
	es := &s.Elasticsearch
	if es.URL != "" && v.usable(&es.URL) {
		v.checkURL(&es.URL, "stores.elasticsearch.url", true, "http", "https")
	}
	if es.APIKey != "" && (es.Username != "" || es.Password != "") {
		v.add(v.at(&es.APIKey, es.Pos), "stores.elasticsearch: use api_key or username and password, not both")
	} else if es.APIKey != "" && urlHasUser(es.URL) {
		// The sink takes the URL's credentials as username and password.
		v.add(v.at(&es.APIKey, es.Pos), "stores.elasticsearch: use api_key or credentials in the url, not both")
	}
	if (es.Username == "") != (es.Password == "") && v.usable(&es.Username) && v.usable(&es.Password) {
		v.add(v.at(&es.Username, v.at(&es.Password, es.Pos)), "stores.elasticsearch: username and password go together")
	}
	if es.CACert != "" && v.usable(&es.CACert) {
		if data, ok := v.readPEM(&es.CACert, "stores.elasticsearch.ca_cert"); ok && !x509.NewCertPool().AppendCertsFromPEM(data) {
			v.add(v.at(&es.CACert), "stores.elasticsearch.ca_cert: %s holds no PEM certificate", v.show(&es.CACert))
		}
	}
	if v.usable(&es.RequestTimeout) && es.RequestTimeout < Duration(time.Second) {
		v.add(v.at(&es.RequestTimeout, es.Pos), "stores.elasticsearch.request_timeout must be at least 1s: a bulk write of 8 MB must have time to be answered")
	}
}

// checkURL checks a store URL without ever printing it: URLs carry
// passwords, from the file or from the environment. It reports whether
// the URL is good.
func (v *validator) checkURL(ptr *string, label string, needHost bool, schemes ...string) bool {
	if p := URLProblem(*ptr, label, needHost, !v.info(ptr).env, schemes...); p != "" {
		v.add(v.at(ptr), "%s", p)
		return false
	}
	return true
}

// URLProblem says what is wrong with raw, a URL of one of schemes named
// label, or "" when nothing is, without ever quoting it: URLs carry
// passwords. The parser's own reason is given when explain is set and it
// quotes nothing of the URL.
func URLProblem(raw, label string, needHost, explain bool, schemes ...string) string {
	u, err := url.Parse(raw)
	if err != nil {
		reason := "it does not parse"
		var ue *url.Error
		if errors.As(err, &ue) && explain && !strings.Contains(ue.Err.Error(), `"`) {
			reason = ue.Err.Error()
		}
		return fmt.Sprintf("%s is not a valid URL: %s", label, reason)
	}
	if !slices.Contains(schemes, u.Scheme) {
		return fmt.Sprintf("%s must start with %s://", label, strings.Join(schemes, ":// or "))
	}
	if bareAt(raw) || u.User == nil && strings.Contains(u.EscapedPath(), "@") {
		// Go's parser ends the user and password at the last @ before
		// the path, query or fragment; libpq's (pgx) at the first @
		// before the path, even one in the query (?password=a@b): pgx
		// would dial a host made of the password's tail, and its errors
		// would show it. An @ in the path with no user before it is a
		// password holding a bare /, which ended the host early: the
		// rest is read as the path (a database name errors show).
		return fmt.Sprintf("%s has an @ or / in its user or password, or an @ in its query: write them %%40 and %%2F", label)
	}
	if needHost && u.Host == "" {
		return fmt.Sprintf("%s needs a host (%s://host:port)", label, schemes[0])
	}
	return ""
}

// urlHasUser reports whether a URL names a user (user:password@host).
func urlHasUser(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.User != nil
}

// bareAt reports a URL whose @ pgx and Go would read apart: more than one
// before the first '/', or one in a query or fragment before it.
func bareAt(raw string) bool {
	_, rest, _ := strings.Cut(raw, "://")
	pre, _, _ := strings.Cut(rest, "/")
	if strings.Count(pre, "@") > 1 {
		return true
	}
	if i := strings.IndexAny(pre, "?#"); i >= 0 {
		return strings.Contains(pre[i:], "@")
	}
	return false
}

func (v *validator) adminListen() {
	a := &v.c.Admin
	if a.Listen != "" && v.usable(&a.Listen) && checkHostPort(a.Listen, true) != nil {
		v.add(v.at(&a.Listen, a.Pos), `admin.listen must be host:port, ":port", or "off", got %s`, v.show(&a.Listen))
	}
}

func (v *validator) runtime() {
	v.oneOf(&v.c.Log.Format, "log.format", "text", "json")
	v.oneOf(&v.c.Log.Level, "log.level", "debug", "info", "warn", "error")
	v.oneOf(&v.c.Errors.Tolerance, "errors.tolerance", "none", "all")
}

func (v *validator) sources() {
	c := v.c
	if len(c.Sources) == 0 && v.usable(&c.Sources) {
		v.add(v.at(&c.Sources), "at least one source is required (sources:)")
	}
	topics := make(map[string]string) // topic → source
	for i := range c.Sources {
		e := &c.Sources[i]
		s := &e.Value
		switch {
		case !validName(e.Key) || len(e.Key) > maxSourceName:
			v.add(e.KeyPos, "source name must be lowercase letters, digits and _, not starting with a digit (at most %d: its state table is state_<name>), got %q", maxSourceName, e.Key)
		case slices.Contains(OwnTables, "state_"+e.Key):
			v.add(e.KeyPos, "source name %q would make its state table state_%s, one of projector's own tables: rename the source", e.Key, e.Key)
		}
		label := describe([]string{"sources", e.Key})
		if !v.usable(s) {
			continue
		}
		switch {
		case !v.usable(&s.Topic):
		case s.Topic == "":
			v.add(v.at(&s.Topic, e.KeyPos), "%s needs a topic", label)
		case !validTopic(s.Topic):
			v.add(v.at(&s.Topic), "topic of %s must be a Kafka topic name (letters, digits, '.', '_', '-'), got %s", label, v.show(&s.Topic))
		case topics[s.Topic] != "":
			v.add(v.at(&s.Topic), "topic of %s is already the topic of source %q", label, topics[s.Topic])
		default:
			topics[s.Topic] = e.Key
		}
		v.distinct(&s.Key, label+": key")
		v.oneOf(&s.Format, "format of "+label, "auto", "json", "avro", "unwrapped")
		v.avroRegistry(s, label)
		v.signal(&s.Signal, label)
		v.unwrapped(s, label)
		for j := range s.Columns {
			col := &s.Columns[j]
			v.columnType(&col.Value, col.KeyPos, describe([]string{"sources", e.Key, "columns", col.Key}))
		}
	}
	v.deadLettersApart(topics)
}

// deadLettersApart refuses a dead-letter topic that a source reads: every
// dead letter would be consumed again, fail again and be dead-lettered
// again, for ever, the topic growing without bound.
func (v *validator) deadLettersApart(topics map[string]string) {
	k := &v.c.Kafka
	src := topics[k.DeadLetterTopic]
	if src == "" || !v.usable(&k.DeadLetterTopic) {
		return
	}
	if v.info(&k.DeadLetterTopic) != nil {
		v.add(v.at(&k.DeadLetterTopic), "kafka.dead_letter_topic is the topic of source %q: its dead letters would be consumed again, for ever", src)
		return
	}
	if v.usable(&k.Group) {
		v.add(v.at(&k.Group, k.Pos), "the default kafka.dead_letter_topic (kafka.group + %q) is the topic of source %q: its dead letters would be consumed again, for ever; set kafka.dead_letter_topic", deadLetterTopicSuffix, src)
	}
}

// avroRegistry refuses a source in format avro without a schema registry:
// every Avro record names its schema by registry id, so each would be a
// dead letter. Offline nothing is fetched, so nothing is needed.
func (v *validator) avroRegistry(s *Source, label string) {
	r := &v.c.Kafka.SchemaRegistry
	if v.d.offline || s.Format != "avro" || !v.usable(&s.Format) || !v.usable(r) || !v.usable(&r.URL) || r.URL != "" {
		return
	}
	v.add(v.at(&s.Format), "format of %s is avro, which needs a schema registry: set kafka.schema_registry.url", label)
}

// unwrapped checks the SMT's prefixes of a source. An empty one would
// take the columns named op, table, name, version... for the SMT's
// members; and a source in format json reads envelopes only, so
// prefixes written there would describe records it refuses.
func (v *validator) unwrapped(s *Source, label string) {
	u := &s.Unwrapped
	for _, f := range []struct {
		ptr *string
		key string
	}{{&u.FieldsPrefix, "fields_prefix"}, {&u.HeadersPrefix, "headers_prefix"}} {
		if v.usable(f.ptr) && *f.ptr == "" {
			v.add(v.at(f.ptr, u.Pos), "unwrapped.%s of %s must not be empty: the SMT's op, lsn and table could not be told from columns of those names (leave it out for the SMT's default %q)", f.key, label, DefaultUnwrapPrefix)
		}
	}
	v.swallowedColumns(s, label)
	if vi := v.info(u); vi == nil || vi.null || s.Format != "json" || !v.usable(&s.Format) {
		return
	}
	v.add(v.at(u), "unwrapped of %s describes the output of ExtractNewRecordState or ExtractNewDocumentState, which format json refuses: use format auto or unwrapped", label)
}

// swallowedColumns refuses a declared column of an unwrapped source that
// the decoder would take for a member the SMT adds (meta_op under
// fields_prefix meta_, __deleted under the default): it would never hold a
// value. (Under format auto an envelope's columns are its own: such a name
// may be a real column there.)
func (v *validator) swallowedColumns(s *Source, label string) {
	prefix := s.Unwrapped.FieldsPrefix
	if s.Format != "unwrapped" || prefix == "" {
		return
	}
	for _, col := range s.Columns {
		if debezium.SMTMember(prefix, col.Key) {
			v.add(col.KeyPos, "column %s of %s has the name of a member the SMT adds under its prefix %q (unwrapped.fields_prefix): it would be read as the SMT's, never as a column; rename it, or give the SMT's add.fields.prefix and unwrapped.fields_prefix another prefix", col.Key, label, prefix)
		}
	}
}

// signal checks the topics a source's signal settings name.
func (v *validator) signal(s *Signal, label string) {
	for _, t := range []struct {
		ptr  *string
		what string
	}{{&s.Topic, "signal topic"}, {&s.Notifications, "notifications topic"}} {
		// A topic the file does not write (the <topic.prefix>-signal
		// default) is not checked: only rebuild --from signal uses it,
		// and the file has nothing wrong to point at.
		if v.info(t.ptr) != nil && v.usable(t.ptr) && *t.ptr != "" && !validTopic(*t.ptr) {
			v.add(v.at(t.ptr, s.Pos), "%s of %s must be a Kafka topic name (letters, digits, '.', '_', '-'), got %s", t.what, label, v.show(t.ptr))
		}
	}
}

// rebuild checks the rebuild defaults and the state's retention.
func (v *validator) rebuild() {
	r := &v.c.Rebuild
	if r.Keep < 0 {
		v.add(v.at(&r.Keep, r.Pos), "rebuild.keep must not be negative")
	}
	if r.SignalTimeout <= 0 {
		v.add(v.at(&r.SignalTimeout, r.Pos), "rebuild.signal_timeout must be positive: how long rebuild --from signal waits for the snapshot")
	}
	if s := &v.c.State; s.TombstoneRetention < 0 || s.TombstoneRetention > 0 && s.TombstoneRetention < MinTombstoneRetention {
		v.add(v.at(&s.TombstoneRetention, s.Pos), "state.tombstone_retention must be 0s (keep them forever) or at least 1h: a shorter one lets a change replayed after it bring a deleted row back")
	}
}

// columnType checks a type written in the file; keyPos stands in when the
// value is missing.
func (v *validator) columnType(ptr *string, keyPos Pos, label string) {
	if !v.usable(ptr) {
		return
	}
	if *ptr == "" {
		v.add(v.at(ptr, keyPos), "%s needs a type (bigint, text, numeric(10,2), ...)", label)
		return
	}
	if _, err := ParseType(*ptr); err != nil {
		if vi := v.info(ptr); vi != nil && vi.env {
			v.add(vi.pos, "%s has an invalid type (%s)", label, fromEnv(vi.raw))
			return
		}
		v.add(v.at(ptr, keyPos), "%s: %s", label, err)
	}
}

// known lists names for "unknown x (known: a, b)" messages.
func known[T any](m Map[T]) string {
	names := make([]string, len(m))
	for i, e := range m {
		names[i] = e.Key
	}
	if len(names) == 0 {
		return "none declared"
	}
	return "known: " + strings.Join(names, ", ")
}

// joinAnd joins words for messages: "a", "a and b", "a, b and c".
func joinAnd(words []string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return fmt.Sprintf("%s and %s", strings.Join(words[:len(words)-1], ", "), words[len(words)-1])
}
