package config

import "log/slog"

const redacted = "[redacted]"

// String hides the secret from fmt's %v and %s.
func (s Secret) String() string { return s.show() }

// GoString hides the secret from %#v.
func (s Secret) GoString() string { return s.show() }

// LogValue hides the secret from log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.show()) }

// MarshalText hides the secret from encoding/json and YAML encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.show()), nil }

// show is what a secret prints as: nothing when it is empty, so that an
// unset one still looks unset.
func (s Secret) show() string {
	if s == "" {
		return ""
	}
	return redacted
}
