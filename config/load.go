package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Load reads, interpolates, decodes and validates the file at path.
// lookupEnv resolves ${VAR} references; pass os.LookupEnv (nil means the
// same). A file that cannot be read gives the wrapped read error; any
// problem in the file gives (nil, Errors) with every problem found.
func Load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, lookupEnv)
}

// Parse is Load on bytes already read; file names the source in positions.
func Parse(file string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	c, err := ParseDraft(file, data, lookupEnv)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// LoadDraft is Load for a caller that checks more than the configuration
// itself, such as the meaning of its views, and wants to report every
// problem of the file in one go: it returns the configuration as far as it
// decoded, defaults applied, together with its Errors. The configuration is
// nil only when the file cannot be read or decoded at all. A draft with
// errors may break any rule Load guarantees; use it only to look for more
// problems.
func LoadDraft(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseDraft(path, data, lookupEnv)
}

// ParseDraft is LoadDraft on bytes already read.
func ParseDraft(file string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	return ParseDraftWith(file, data, lookupEnv, Options{})
}

// Options change what ParseDraftWith checks.
type Options struct {
	// Offline reads the configuration for a run that connects to nothing
	// (projector test): the connection settings, everything under kafka
	// but batch_size, under stores and under admin, are decoded but not
	// checked, and no file they name is read. A ${NAME} in them that is
	// not set is no problem there: the setting keeps the reference's text
	// (a boolean is left false). Everything else is checked as Load does.
	Offline bool
	// UnsetConnections checks everything Load does but a connection
	// setting (as Offline names them) whose ${NAME} is not set: that one
	// keeps the reference's text and goes unchecked (Config.Unset), for
	// validate --offline where the connections' secrets are not at hand.
	UnsetConnections bool
	// UnsetStores is UnsetConnections for the settings under stores and
	// admin only, for a command that connects to Kafka alone (inspect).
	UnsetStores bool
}

// ParseDraftWith is ParseDraft with options.
func ParseDraftWith(file string, data []byte, lookupEnv func(string) (string, bool), opts Options) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	d := newDecoder(file, lookupEnv)
	d.offline, d.unsetOK, d.unsetStores = opts.Offline, opts.UnsetConnections, opts.UnsetStores
	root := d.parseYAML(data)
	if root == nil {
		return nil, d.errs.Err()
	}
	c := &Config{File: file}
	d.decode(reflect.ValueOf(c).Elem(), root, nil)
	if d.aborted {
		return nil, d.errs.Err()
	}
	c.applyDefaults(d)
	(&validator{c: c, d: d}).validate()
	c.values, c.envAt = d.info, envByPos(d.info)
	c.source = data
	return c, d.errs.Err()
}

// parseYAML returns the root mapping, or nil after adding the reason.
func (d *decoder) parseYAML(data []byte) (root *yaml.Node) {
	defer func() {
		// yaml.v3 has panicked on hostile input in the past; a bad file must
		// never bring the process down.
		if r := recover(); r != nil {
			d.errs.Add(d.top(), "the file is not valid YAML")
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errs.Add(d.top(), "the file is empty; it needs at least version, kafka, stores, sources and views")
		} else {
			d.syntaxError(err, data)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		// Said, and the first document still checked: its problems are
		// as worth knowing as the second document's presence.
		d.errs.Add(d.pos(&extra), "only one YAML document is allowed")
	case !errors.Is(err, io.EOF):
		d.syntaxError(err, data)
		return nil
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		d.errs.Add(d.top(), "the file is empty; it needs at least version, kafka, stores, sources and views")
		return nil
	}
	if root = doc.Content[0]; root.Kind != yaml.MappingNode {
		d.errs.Add(d.top(), "the configuration must be a mapping of keys (version: 1, kafka: ..., sources: ..., views: ...), not %s", kindName(root))
		return nil
	}
	return root
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserErrors are the messages of libyaml's parser, as against its
// scanner's. yaml.v3 numbers a scanner error's line from 1 but a parser
// error's from 0 (the line where the construct it could not finish began,
// a '[' left open), so those are one line early.
var parserErrors = []string{
	"did not find expected <document start>",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found duplicate %TAG directive",
	"found undefined tag handle",
	"did not find expected node content",
	"did not find expected key",
	"did not find expected '-' indicator",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
}

var unknownAnchor = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)

// syntaxError turns a yaml.v3 error ("yaml: line 3: ...") into an Error.
func (d *decoder) syntaxError(err error, data []byte) {
	p := d.top()
	line, col, msg := YAMLSyntaxError(err, data)
	if line > 0 {
		p.Line, p.Col = line, col
	}
	d.errs.Add(p, "invalid YAML: %s", msg)
}

// YAMLSyntaxError reads where in data a yaml.v3 decoding error is, and
// its message without yaml.v3's prefix; line is 0 when it does not say.
// yaml.v3 reports no columns, so col is 1, except for the errors it
// reports with no line at all, which are found in data: an unknown
// anchor where its alias is written, a reader error (see readerErrors)
// at the character refused. A parser error's line is made one-based (see
// parserErrors), and a line past the file's last is its end.
func YAMLSyntaxError(err error, data []byte) (line, col int, msg string) {
	msg = err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if slices.Contains(parserErrors, msg) {
			line++
		}
		if strings.Contains(msg, "tab character") || msg == "found character that cannot start any token" {
			// yaml.v3 may name the line before; and "cannot start any
			// token" does not say the character is a tab.
			if l, c, ok := tabIndentNear(data, line); ok {
				return l, c, "a tab indents this line: YAML indents with spaces only"
			}
		}
		if end := bytes.TrimRight(data, "\r"); line > bytes.Count(end, []byte("\n"))+1 {
			// An error at the end of the stream (a '{' left open in a
			// file with no final newline): libyaml puts that end on a
			// line after the file's last. It is at the end of the file.
			line, col = lineCol(end, len(end))
			return line, col, msg
		}
		return line, 1, msg
	}
	if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		line, col, _ = aliasAt(data, m[1])
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if slices.Contains(readerErrors, msg) {
		line, col, _ = readerErrorAt(data)
	}
	return line, col, msg
}

// tabIndentNear finds a tab in the indentation of line (one-based) of
// data, else of the line after it, else of the one before: where it is.
func tabIndentNear(data []byte, line int) (l, col int, ok bool) {
	lines := strings.Split(string(data), "\n")
	for _, l := range []int{line, line + 1, line - 1} {
		if l < 1 || l > len(lines) {
			continue
		}
		text := lines[l-1]
		indent := text[:len(text)-len(strings.TrimLeft(text, " \t"))]
		if i := strings.IndexByte(indent, '\t'); i >= 0 {
			return l, utf8.RuneCountInString(text[:i]) + 1, true
		}
	}
	return 0, 0, false
}

// aliasAt finds the first alias *name written in data, as a token: after
// a space, a flow indicator or a line start, and ending the name.
func aliasAt(data []byte, name string) (line, col int, ok bool) {
	tok := "*" + name
	for off := 0; ; {
		i := bytes.Index(data[off:], []byte(tok))
		if i < 0 {
			return 0, 0, false
		}
		at := off + i
		end := at + len(tok)
		before := at == 0 || strings.ContainsRune(" \t\n\r[{,:-", rune(data[at-1]))
		after := end == len(data) || strings.ContainsRune(" \t\n\r]},", rune(data[end]))
		if before && after {
			line, col = lineCol(data, at)
			return line, col, true
		}
		off = end
	}
}
