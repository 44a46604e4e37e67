package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/projectorhq/projector/internal/query"
)

type queryOptions struct {
	where       []string
	sort        string
	limit       int
	cursor      string
	search      string
	facets      string
	minPosition []string
	wait        time.Duration
	output      string
}

func newQuery(g *globals) *cobra.Command {
	o := queryOptions{}
	cmd := &cobra.Command{
		Use:   "query VIEW [ID]",
		Short: "Read a view's documents straight from the stores",
		Long: `query reads the views as the query API does (projector serve), without a server:

  projector query order_view 42
  projector query order_view --where status=shipped --where 'total_amount[gte]=10' --sort -created_at --limit 20
  projector query order_view --search 'gift' --facets status -o table

With an ID it prints that document; otherwise a page of the list (from
PostgreSQL; --cursor continues it) or, with --search or --facets, search
results (from Elasticsearch). --where takes FIELD=VALUE or FIELD[OP]=VALUE with
OP one of eq, gt, gte, lt, lte, in (comma-separated values); nested fields as
customer.id. A composite ID is a JSON array: '["42","7"]'.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runQuery(cmd, g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.where, "where", "w", nil, "filter FIELD=VALUE or FIELD[OP]=VALUE (repeatable)")
	f.StringVar(&o.sort, "sort", "", "sort by a field, -FIELD for descending")
	f.IntVar(&o.limit, "limit", 0, "documents per page, 1 to 1000 (default 50)")
	f.StringVar(&o.cursor, "cursor", "", "continue a list after a page (its next_cursor)")
	f.StringVar(&o.search, "search", "", "full-text query (Elasticsearch)")
	f.StringVar(&o.facets, "facets", "", "comma-separated fields to count values of (Elasticsearch)")
	f.StringArrayVar(&o.minPosition, "min-position", nil, "wait until the views reflect SOURCE:POSITION")
	f.DurationVar(&o.wait, "wait", 5*time.Second, "how long to wait for --min-position")
	f.StringVarP(&o.output, "output", "o", "json", "json or table")
	return cmd
}

func runQuery(cmd *cobra.Command, g *globals, o queryOptions, args []string) error {
	if o.output != "json" && o.output != "table" {
		return usageError(fmt.Errorf("--output must be json or table, not %q", o.output))
	}
	params := url.Values{}
	for _, w := range o.where {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return usageError(fmt.Errorf("--where %q: want FIELD=VALUE or FIELD[OP]=VALUE", w))
		}
		if !strings.HasSuffix(k, "]") {
			// Always a filter, even of a field named like a request
			// parameter (limit, sort, q): the API's explicit form.
			k += "[eq]"
		}
		params.Add(k, v)
	}
	set := func(name, v string) {
		if v != "" {
			params.Set(name, v)
		}
	}
	set("sort", o.sort)
	set("cursor", o.cursor)
	set("q", o.search)
	set("facets", o.facets)
	// Given, even as 0, it is checked as the API checks ?limit=.
	if cmd.Flags().Changed("limit") {
		params.Set("limit", strconv.Itoa(o.limit))
	}
	if len(args) == 2 && len(params) > 0 {
		return usageError(errors.New("an ID reads one document: --where, --sort, --limit, --cursor and --search do not apply"))
	}
	cfg, plan, err := g.loadPlan()
	if err != nil {
		return err
	}
	if plan.View(args[0]) == nil {
		return usageError(fmt.Errorf("view %q is not declared in %s", args[0], cfg.File))
	}
	ctx := cmd.Context()
	// Each run is a new process, so the cursor key must not be random: the
	// configured one, or one derived from the database URL without its
	// password. A cursor keyed by the password would let whoever sees one
	// test guesses of it offline; one forged for this key gets nothing its
	// user cannot read: the command reads with the URL's own rights.
	key := os.Getenv(query.CursorKeyEnv)
	if key == "" {
		key = "projector query: " + withoutPassword(cfg.Stores.Postgres.URL)
	}
	srv, err := query.New(ctx, cfg, plan, query.Options{Logger: g.logger(cfg.Log), CursorKey: key})
	if err != nil {
		return queryError(err)
	}
	defer srv.Close()
	view := args[0]
	fields, err := srv.Fields(view)
	if err != nil {
		return queryError(err)
	}
	searching := o.search != "" || o.facets != ""
	if len(o.minPosition) > 0 {
		// A request that can never succeed fails now, not after the wait.
		var check error
		switch {
		case len(args) == 2:
			check = srv.CheckGet(view, args[1])
		case searching:
			check = srv.CheckSearch(view, params)
		default:
			check = srv.CheckList(view, params)
		}
		if check != nil {
			return queryError(check)
		}
		if err := srv.WaitFor(ctx, view, o.minPosition, o.wait); err != nil {
			return queryError(err)
		}
		if searching {
			if err := srv.RefreshSearch(ctx, view); err != nil {
				return queryError(err)
			}
		}
	}
	switch {
	case len(args) == 2:
		doc, err := srv.Get(ctx, view, args[1])
		if err != nil {
			return queryError(err)
		}
		return printDocs(g.stdout, o.output, fields, doc, []json.RawMessage{doc})
	case searching:
		res, err := srv.Search(ctx, view, params)
		if err != nil {
			return queryError(err)
		}
		if o.output == "table" {
			if err := printDocs(g.stdout, o.output, fields, nil, res.Docs); err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "%d matching\n", res.Total)
			printFacets(g.stderr, res.Facets)
			return nil
		}
		return printJSON(g.stdout, res)
	default:
		res, err := srv.List(ctx, view, params)
		if err != nil {
			return queryError(err)
		}
		if o.output == "table" {
			if err := printDocs(g.stdout, o.output, fields, nil, res.Docs); err != nil {
				return err
			}
			if res.NextCursor != nil {
				fmt.Fprintf(g.stderr, "more: --cursor %s\n", *res.NextCursor)
			}
			return nil
		}
		return printJSON(g.stdout, res)
	}
}

// queryError maps the query package's errors to exit codes: a bad request
// or configuration is a usage error (2), anything else (not found, a
// position not reached, a store down) a failure (1).
func queryError(err error) error {
	if errors.Is(err, query.ErrBadRequest) || errors.Is(err, query.ErrConfig) {
		return usageError(err)
	}
	return &exitError{code: ExitFailure, err: err}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printDocs prints one doc as JSON (one), or docs as JSON or a table with
// a column per top-level field.
func printDocs(w io.Writer, output string, fields []string, one json.RawMessage, docs []json.RawMessage) error {
	if output == "json" {
		var buf bytes.Buffer
		if err := json.Indent(&buf, one, "", "  "); err != nil {
			return err
		}
		buf.WriteByte('\n')
		_, err := w.Write(buf.Bytes())
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(fields, "\t"))
	for _, d := range docs {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(d, &m); err != nil {
			return err
		}
		cells := make([]string, len(fields))
		for i, f := range fields {
			cells[i] = cell(m[f])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// cell is a value as a table shows it: text unquoted, null empty, objects
// and arrays as compact JSON, all on one line.
func cell(raw json.RawMessage) string {
	var s string
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return ""
	case json.Unmarshal(raw, &s) == nil:
	default:
		var buf bytes.Buffer
		if json.Compact(&buf, raw) != nil {
			return string(raw)
		}
		s = buf.String()
	}
	return visible(strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s))
}

// visible writes the control characters of s (C0, DEL, C1) as escapes: a
// source row's text reaches the operator's terminal, and an escape
// sequence in it would retitle or clear it, hide what follows or write to
// the clipboard.
func visible(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !unicode.IsControl(r):
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	return b.String()
}

func printFacets(w io.Writer, facets map[string][]query.Facet) {
	names := make([]string, 0, len(facets))
	for n := range facets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		parts := make([]string, 0, len(facets[n]))
		for _, f := range facets[n] {
			parts = append(parts, visible(fmt.Sprintf("%v (%d)", f.Value, f.Count)))
		}
		fmt.Fprintf(w, "%s: %s\n", visible(n), strings.Join(parts, ", "))
	}
}

// withoutPassword is a URL with its password taken out ("" when it does
// not parse: the key is then the same for every such URL, which is no
// secret either).
func withoutPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	if q.Has("password") || q.Has("sslpassword") { // sslpassword: the TLS client key's passphrase
		q.Del("password")
		q.Del("sslpassword")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
