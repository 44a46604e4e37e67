package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projector"
)

type inspectOptions struct {
	value, key, format string
	columns            []string
	headers            []string
	topic              string
	partition          int32
	offset             int64
	brokers            string
	// withConfig: read -c, for Kafka's TLS and SASL (and brokers, without
	// --brokers), the schema registry and the source of --topic.
	withConfig bool
	formatSet  bool // --format given: it wins over the source's
	// fieldsPrefix and headersPrefix are the SMT's prefixes; "": the
	// source's, else the SMT's default.
	fieldsPrefix, headersPrefix string
}

func newInspect(g *globals) *cobra.Command {
	o := inspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect",
		Short: "Decode one Debezium record and print it as JSON",
		Long: `inspect decodes one record, from files (--value, --key; a zero-byte value file
is a tombstone) or from Kafka (--topic, --partition, --offset, with --brokers or
the configuration's kafka.brokers; kafka.tls and kafka.sasl come from the
configuration unless --brokers is given without -c), and prints it as one JSON object: kind, op,
source, key, before, after, unchanged columns, patch. Exit code 1 when the
record is malformed, with what is wrong and where.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.withConfig = cmd.Flags().Changed("config") || o.topic != "" && o.brokers == ""
			o.formatSet = cmd.Flags().Changed("format")
			return runInspect(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.value, "value", "", "file holding the record value")
	f.StringVar(&o.key, "key", "", "file holding the record key")
	f.StringVar(&o.format, "format", "auto", "auto, json, avro or unwrapped")
	f.StringArrayVar(&o.columns, "column", nil, "a column type hint for schemaless records, name=type (e.g. price=numeric(10,2)); repeat it for more columns")
	f.StringVar(&o.fieldsPrefix, "fields-prefix", "", "the SMT's add.fields.prefix (default: the source's unwrapped.fields_prefix, else __)")
	f.StringVar(&o.headersPrefix, "headers-prefix", "", "the SMT's add.headers.prefix (default: the source's unwrapped.headers_prefix, else __)")
	f.StringArrayVar(&o.headers, "header", nil, "with --value: a record header, name=value (e.g. __op=d); repeat it for more headers")
	f.StringVar(&o.topic, "topic", "", "read the record from this topic")
	f.Int32Var(&o.partition, "partition", 0, "partition of --topic")
	f.Int64Var(&o.offset, "offset", -1, "offset of the record in --topic")
	f.StringVar(&o.brokers, "brokers", "", "Kafka brokers, comma-separated (default: the configuration's); "+
		"with -c, TLS and SASL still come from the configuration")
	return cmd
}

func runInspect(ctx context.Context, g *globals, o inspectOptions) error {
	var cfg *config.Config
	if o.withConfig {
		// Only Kafka is reached: the stores' URLs, whose secrets may not be
		// at hand where records are inspected, may be unset.
		var err error
		if cfg, err = g.loadWith(config.Options{UnsetStores: true}); err != nil {
			return err
		}
	}
	src := inspectSource(cfg, o.topic)
	if src != nil && !o.formatSet {
		o.format = cmp.Or(src.Format, o.format)
	}
	format, err := debezium.ParseFormat(o.format)
	if err != nil {
		return usageError(err)
	}
	cols := map[string]string{}
	if src != nil {
		for _, c := range src.Columns {
			if t, err := config.ParseType(c.Value); err == nil {
				cols[c.Key] = t.String() // as run reads it
			}
		}
	}
	for _, c := range o.columns {
		name, typ, ok := strings.Cut(c, "=")
		if !ok || name == "" {
			return usageError(fmt.Errorf("--column %q: want name=type", c))
		}
		// The decoder takes any type name (one it has no codec for stays
		// plain JSON), so a typo would be ignored: refuse what the
		// configuration refuses.
		if _, err := config.ParseType(typ); err != nil {
			return usageError(fmt.Errorf("--column %s: %w", name, err))
		}
		cols[name] = typ
	}
	opts := debezium.Options{Format: format, Columns: cols, FieldsPrefix: o.fieldsPrefix, HeadersPrefix: o.headersPrefix}
	if src != nil {
		opts.Key = src.Key
		opts.FieldsPrefix = cmp.Or(opts.FieldsPrefix, src.Unwrapped.FieldsPrefix)
		opts.HeadersPrefix = cmp.Or(opts.HeadersPrefix, src.Unwrapped.HeadersPrefix)
	}
	dec, err := debezium.NewDecoder(opts)
	if err != nil {
		return usageError(err)
	}
	var (
		key, value []byte
		headers    []debezium.Header
	)
	switch {
	case o.value != "" && o.topic != "":
		return usageError(errors.New("give either --value or --topic, not both"))
	case o.value != "":
		if value, err = os.ReadFile(o.value); err != nil {
			return usageError(err)
		}
		if o.key != "" {
			if key, err = os.ReadFile(o.key); err != nil {
				return usageError(err)
			}
		}
		for _, h := range o.headers {
			name, v, ok := strings.Cut(h, "=")
			if !ok || name == "" {
				return usageError(fmt.Errorf("--header %q: want name=value", h))
			}
			headers = append(headers, debezium.Header{Key: name, Value: []byte(v)})
		}
	case o.topic != "":
		if o.offset < 0 {
			return usageError(errors.New("--topic needs --offset"))
		}
		if o.partition < 0 {
			return usageError(fmt.Errorf("--partition must be 0 or more, got %d", o.partition))
		}
		if len(o.headers) > 0 {
			return usageError(errors.New("--header goes with --value: a record read from --topic has its own"))
		}
		if key, value, headers, err = fetchRecord(ctx, cfg, o); err != nil {
			var exit *exitError
			if errors.As(err, &exit) {
				return err // the configuration's: a usage error
			}
			return &exitError{code: ExitFailure, err: err}
		}
	default:
		return usageError(errors.New("give --value FILE or --topic T --partition P --offset O"))
	}
	var schemas projector.SchemaRegistry
	if cfg != nil {
		if schemas, err = stack.NewSchemaRegistry(cfg.Kafka.SchemaRegistry); err != nil {
			return usageError(err)
		}
	}
	// As run decodes it: the Avro schemas it has not seen come from the
	// registry, and a tombstone's headers may make it a delete.
	ch, err := projector.DecodeRecord(ctx, dec, schemas, projector.Record{Key: key, Value: value, Headers: headers})
	if err != nil {
		return &exitError{code: ExitFailure, err: notJSON(err, format, key, value)}
	}
	// An Encoder without HTML escaping: values are printed as they are (<, >, &).
	enc := json.NewEncoder(g.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ch); err != nil {
		return &exitError{code: ExitFailure, err: err}
	}
	return nil
}

// notJSON replaces a decode error with what is wrong when the record part
// at fault is not JSON at all. The decoder's scanner reports the first
// byte it could not use from where it was looking ("value: expected a JSON
// object, found null" for `not json`, "payload: expected a string key"
// for `{bad`), which reads as a Debezium problem; encoding/json says what
// is wrong with the text. Only a failed decode pays for the check.
func notJSON(err error, format debezium.Format, key, value []byte) error {
	var me *debezium.MalformedError
	if !errors.As(err, &me) {
		return err
	}
	// What the decoder read as Avro (as Decoder.Decode decides): a value
	// in format avro, or in auto or unwrapped with Confluent's framing
	// (magic byte 0); a key with that framing.
	part, data := "value", value
	framed := len(value) > 0 && value[0] == 0
	avro := format == debezium.FormatAvro || (format == debezium.FormatAuto || format == debezium.FormatUnwrapped) && framed
	if seg, _, _ := strings.Cut(me.Path, "."); seg == "key" || strings.HasPrefix(seg, "key[") {
		part, data = "key", key
		avro = len(key) > 0 && key[0] == 0
		if bytes.HasPrefix(bytes.TrimSpace(key), []byte("Struct{")) {
			return err // StringConverter's key: not JSON by design
		}
	}
	if avro || len(data) == 0 || json.Valid(data) {
		return err
	}
	jerr := json.Unmarshal(data, new(any))
	var syntax *json.SyntaxError
	// Offset counts the bytes read, the bad one included; "unexpected end
	// of JSON input" says where it is by itself.
	if errors.As(jerr, &syntax) && strings.HasPrefix(syntax.Error(), "invalid character") {
		line, col := lineCol(data, int(syntax.Offset)-1)
		return fmt.Errorf("%w: %s is not JSON: %v, at line %d, column %d", debezium.ErrMalformed, part, syntax, line, col)
	}
	return fmt.Errorf("%w: %s is not JSON: %v", debezium.ErrMalformed, part, jerr)
}

// lineCol is the 1-based line and column (in bytes) of data[off].
func lineCol(data []byte, off int) (line, col int) {
	before := data[:off]
	return bytes.Count(before, []byte("\n")) + 1, off - bytes.LastIndexByte(before, '\n')
}

// inspectSource is the source of cfg that reads topic, nil when none
// does: its format and columns are those run decodes the records with.
func inspectSource(cfg *config.Config, topic string) *config.Source {
	if cfg == nil || topic == "" {
		return nil
	}
	for _, e := range cfg.Sources {
		if e.Value.Topic == topic {
			return &e.Value
		}
	}
	return nil
}

// fetchRecord reads one record at topic/partition/offset.
func fetchRecord(ctx context.Context, cfg *config.Config, o inspectOptions) (key, value []byte, headers []debezium.Header, err error) {
	opts, err := kafkautil.ClientOpts(inspectKafka(cfg, o))
	if err != nil {
		return nil, nil, nil, err
	}
	health := kafkautil.NewHealth(nil)
	// What the daemon reads: committed records, and the markers, which
	// say at once that an offset holds no record instead of a timeout.
	cl, err := kgo.NewClient(append(opts, health.Opt(), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords(),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.topic: {o.partition: kgo.NewOffset().At(o.offset)}}))...)
	if err != nil {
		return nil, nil, nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	// A broker that refuses the connection (TLS, SASL) fails here, with
	// its cause, rather than as a record that never comes.
	if err := cl.Ping(ctx); err != nil {
		return nil, nil, nil, fmt.Errorf("kafka: %w", health.Explain(err))
	}
	for {
		fetches := cl.PollRecords(ctx, 1)
		if err := ctx.Err(); err != nil {
			return nil, nil, nil, fmt.Errorf("no record at %s[%d]@%d: %w", o.topic, o.partition, o.offset, health.Explain(err))
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			return nil, nil, nil, fmt.Errorf("%s[%d]: %w", o.topic, o.partition, health.Explain(errs[0].Err))
		}
		for _, r := range fetches.Records() {
			switch {
			case r.Offset == o.offset && r.Attrs.IsControl():
				return nil, nil, nil, fmt.Errorf("%s[%d]@%d is a transaction marker, not a record", o.topic, o.partition, o.offset)
			case r.Offset == o.offset:
				return r.Key, r.Value, projector.RecordOf(r).Headers, nil
			case r.Offset > o.offset:
				return nil, nil, nil, fmt.Errorf("no record at %s[%d]@%d that projector reads: one of an aborted transaction, or one compacted or expired away", o.topic, o.partition, o.offset)
			}
		}
	}
}

// inspectKafka is how inspect reaches Kafka: the configuration's brokers,
// TLS and SASL, with --brokers instead of its brokers. --brokers without
// -c needs no configuration file and speaks plaintext.
func inspectKafka(cfg *config.Config, o inspectOptions) config.Kafka {
	k := config.Kafka{}
	if cfg != nil {
		k = cfg.Kafka
	}
	if o.brokers != "" {
		k.Brokers = strings.Split(o.brokers, ",")
	}
	return k
}
