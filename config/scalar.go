package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// scalar returns the interpolated text of a scalar node. want names the
// expected type for the message when n is a mapping or a list.
func (d *decoder) scalar(n *yaml.Node, path []string, vi *valueInfo, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.wrongKind(n, path, vi, want)
		return "", false
	}
	lookup, unset := d.lookup, false
	if d.offline && connectionSetting(path) {
		lookup = func(name string) (string, bool) {
			if v, ok := d.lookup(name); ok {
				return v, true
			}
			unset = true
			return "${" + name + "}", true
		}
	}
	x := interpolate(n.Value, lookup)
	if d.mayBeUnset(path) && x.unset > 0 && x.unset == len(x.problems) &&
		(singleRef.MatchString(n.Value) || !vi.secret && !urlSetting(path)) {
		// Not checked, and told apart from a value that is there: the
		// reference's text stands in for it. A secret or URL is so only
		// when it is one reference: "${" inside a password written in the
		// file is no reference, and goes on to be reported as one.
		vi.bad, vi.unset, vi.env, vi.raw = true, true, true, n.Value
		return n.Value, want == "a string" || want == ""
	}
	if unset && want != "a string" && want != "" {
		// Offline, an integer or boolean connection setting from an
		// unset variable stays unset, without a word.
		vi.bad = true
		return "", false
	}
	if x.refs {
		vi.env, vi.raw = true, n.Value
	}
	problems := x.problems
	if (vi.secret || urlSetting(path)) && len(problems) > 0 && !singleRef.MatchString(n.Value) {
		// The problems quote the reference, which in a literal password
		// with "${" in it (a URL's too) is part of the password.
		problems = []string{secretProblem}
	}
	for _, p := range problems {
		d.errs.Add(vi.pos, "%s: %s", describe(path), p)
	}
	if len(problems) > 0 {
		vi.bad = true
		return "", false
	}
	return x.value, true
}

// urlSetting reports whether path leads to a URL that may carry a
// password: a store's, or the schema registry's.
func urlSetting(path []string) bool {
	n := len(path)
	return n == 3 && path[0] == "stores" && path[2] == "url" ||
		n == 3 && path[0] == "kafka" && path[1] == "schema_registry" && path[2] == "url"
}

// connectionSetting reports whether path leads to a setting of the
// connections: everything under kafka but batch_size, under stores and
// under admin.
// mayBeUnset reports whether the setting at path may be left unchecked
// when its ${NAME} is not set (Options.UnsetConnections, UnsetStores).
func (d *decoder) mayBeUnset(path []string) bool {
	switch {
	case d.unsetOK:
		return connectionSetting(path)
	case d.unsetStores:
		return len(path) > 0 && (path[0] == "stores" || path[0] == "admin")
	}
	return false
}

func connectionSetting(path []string) bool {
	if len(path) == 0 {
		return false
	}
	switch path[0] {
	case "kafka":
		return len(path) < 2 || path[1] != "batch_size"
	case "stores", "admin":
		return true
	}
	return false
}

// secretProblem is the one message for a secret whose ${...} cannot be
// expanded: it names neither the variable nor the text around it.
const secretProblem = "a ${...} in it cannot be expanded (unset variable or malformed reference; not shown, the value is a secret): " +
	"write ${NAME} alone to take it from the environment, or $${ for a literal ${ in a password written here"

func (d *decoder) decodeInt(v reflect.Value, n *yaml.Node, path []string, vi *valueInfo) {
	s, ok := d.scalar(n, path, vi, "an integer")
	if !ok {
		return
	}
	i, err := strconv.ParseInt(s, 10, strconv.IntSize)
	if err != nil {
		vi.bad = true
		d.errs.Add(vi.pos, "%s must be an integer, got %s", describe(path), vi.show(s))
		return
	}
	v.SetInt(i)
}

func (d *decoder) decodeBool(v reflect.Value, n *yaml.Node, path []string, vi *valueInfo) {
	s, ok := d.scalar(n, path, vi, "true or false")
	if !ok {
		return
	}
	switch strings.ToLower(s) {
	case "true":
		v.SetBool(true)
	case "false":
		v.SetBool(false)
	default:
		vi.bad = true
		d.errs.Add(vi.pos, "%s must be true or false, got %s", describe(path), vi.show(s))
	}
}

func (d *decoder) decodeDuration(v reflect.Value, n *yaml.Node, path []string, vi *valueInfo) {
	s, ok := d.scalar(n, path, vi, "a duration")
	if !ok {
		return
	}
	dur, err := parseDuration(s)
	switch {
	case errors.Is(err, errNoUnit):
		vi.bad = true
		d.errs.Add(vi.pos, `%s needs a unit ("30s", "10m", "24h", "7d"), got %s`, describe(path), vi.show(s))
	case err != nil:
		vi.bad = true
		d.errs.Add(vi.pos, `%s must be a duration like "30s", "10m", "24h" or "7d", got %s`, describe(path), vi.show(s))
	default:
		v.SetInt(int64(dur))
	}
}

// decodeStringList accepts a list of single values, or one value split on
// commas ("a:9092, b:9092"). Items are trimmed and empty items dropped.
func (d *decoder) decodeStringList(v reflect.Value, n *yaml.Node, path []string, vi *valueInfo) {
	var out StringList
	switch n.Kind {
	case yaml.ScalarNode:
		s, ok := d.scalar(n, path, vi, "")
		if !ok {
			return
		}
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
				vi.items = append(vi.items, valueInfo{pos: vi.pos, env: vi.env, raw: vi.raw})
			}
		}
	case yaml.SequenceNode:
		for _, raw := range n.Content {
			if !d.step(raw) {
				return
			}
			item, ok := d.resolve(raw)
			if !ok {
				vi.bad = true
				continue
			}
			if isNull(item) {
				continue
			}
			ivi := valueInfo{pos: d.pos(item), style: item.Style}
			if item.Kind != yaml.ScalarNode {
				vi.bad = true
				d.errs.Add(ivi.pos, "%s: each item must be a single value, not %s", describe(path), kindName(item))
				continue
			}
			s, ok := d.scalar(item, path, &ivi, "")
			if !ok {
				vi.bad = true
				continue
			}
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
				vi.items = append(vi.items, ivi)
			}
		}
	default:
		d.wrongKind(n, path, vi, "a value or a list of values")
		return
	}
	v.Set(reflect.ValueOf(out))
}

var errNoUnit = errors.New("duration needs a unit")

var bareNumber = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$`)

// ParseDuration reads a duration as the configuration writes them:
// time.ParseDuration plus a leading day count ("7d", "1d12h"), since
// retention periods are naturally written in days. A bare number other
// than 0 is ambiguous and rejected.
func ParseDuration(s string) (time.Duration, error) {
	return parseDuration(s)
}

func parseDuration(s string) (time.Duration, error) {
	if bareNumber.MatchString(s) && strings.Trim(s, "+-0.") != "" {
		return 0, errNoUnit
	}
	daysPart, rest, hasDays := strings.Cut(s, "d")
	if !hasDays {
		return time.ParseDuration(s)
	}
	neg := strings.HasPrefix(daysPart, "-")
	daysPart = strings.TrimPrefix(strings.TrimPrefix(daysPart, "-"), "+")
	days, err := strconv.ParseInt(daysPart, 10, 64)
	if err != nil || daysPart == "" || daysPart[0] < '0' || daysPart[0] > '9' {
		return 0, fmt.Errorf("days must be a whole number: %w", strconv.ErrSyntax)
	}
	const maxDays = int64(1<<63-1) / int64(24*time.Hour)
	if days > maxDays {
		return 0, fmt.Errorf("days: %w", strconv.ErrRange)
	}
	total := time.Duration(days) * 24 * time.Hour
	if rest != "" {
		if strings.ContainsAny(rest[:1], "+-") {
			return 0, fmt.Errorf("sign after days: %w", strconv.ErrSyntax)
		}
		r, err := time.ParseDuration(rest)
		if err != nil {
			return 0, err
		}
		if r > time.Duration(1<<63-1)-total {
			return 0, fmt.Errorf("duration: %w", strconv.ErrRange)
		}
		total += r
	}
	if neg {
		total = -total
	}
	return total, nil
}

// String formats d like time.Duration ("1h30m0s").
func (d Duration) String() string { return time.Duration(d).String() }
