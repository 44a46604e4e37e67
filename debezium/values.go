package debezium

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Date is a calendar date without a time zone (a SQL date; Debezium's
// io.debezium.time.Date and Kafka Connect's Date, both days since the epoch).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateFromEpochDays returns the date n days after 1970-01-01, whatever its
// year: the decoder itself only reads dates in years 1..9999, the ones
// PostgreSQL takes back as Date writes them (see dateFromDays).
func DateFromEpochDays(n int64) Date {
	t := time.Unix(n*86400, 0).UTC()
	return Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}
}

// String returns the date as YYYY-MM-DD.
func (d Date) String() string {
	return string(d.appendTo(make([]byte, 0, 10)))
}

func (d Date) appendTo(b []byte) []byte {
	y := d.Year
	if y < 0 {
		b = append(b, '-')
		y = -y
	}
	b = appendPadded(b, int64(y), 4)
	b = append(b, '-')
	b = appendPadded(b, int64(d.Month), 2)
	b = append(b, '-')
	return appendPadded(b, int64(d.Day), 2)
}

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) {
	b := append(make([]byte, 0, 12), '"')
	b = d.appendTo(b)
	return append(b, '"'), nil
}

// Time returns midnight UTC of the date.
func (d Date) Time() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// TimeOfDay is a time of day without a date or zone (a SQL time), as the
// duration since midnight. PostgreSQL allows 24:00:00.
type TimeOfDay time.Duration

// clockOf is the time of day t shows in its own zone.
func clockOf(t time.Time) TimeOfDay {
	return TimeOfDay(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
		time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond()))
}

// maxTimeOfDay is 24:00:00, the largest time PostgreSQL stores.
const maxTimeOfDay = TimeOfDay(24 * time.Hour)

// String returns HH:MM:SS, with .ffffff when there is a fraction of a second:
// PostgreSQL's microseconds, to which a finer time is rounded as PostgreSQL
// rounds it (see Round).
func (t TimeOfDay) String() string {
	return string(t.appendTo(make([]byte, 0, 18)))
}

func (t TimeOfDay) appendTo(b []byte) []byte {
	d := time.Duration(t.Round(6))
	if d < 0 {
		b = append(b, '-')
		d = -d
	}
	h := int64(d / time.Hour)
	m := int64(d/time.Minute) % 60
	sec := int64(d/time.Second) % 60
	ns := int64(d % time.Second)
	b = appendPadded(b, h, 2)
	b = append(b, ':')
	b = appendPadded(b, m, 2)
	b = append(b, ':')
	b = appendPadded(b, sec, 2)
	if ns != 0 {
		b = append(b, '.')
		b = appendPadded(b, ns/1000, 6)
	}
	return b
}

// MarshalJSON writes "HH:MM:SS[.ffffff]".
func (t TimeOfDay) MarshalJSON() ([]byte, error) {
	b := append(make([]byte, 0, 20), '"')
	b = t.appendTo(b)
	return append(b, '"'), nil
}

func appendPadded(b []byte, v int64, width int) []byte {
	s := strconv.FormatInt(v, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// PostgreSQL keeps at most six fractional digits of a time or timestamp,
// and fewer when its column declares them (time(p), timestamp(p)). It
// reads a finer value's fraction as a double and rounds it to microseconds
// half to even (rint), then to the declared digits half away from its
// epoch, 2000-01-01: a timestamp before it rounds a half down. The
// functions here round the same way, so that every store holds what the
// PostgreSQL column does.

// pgEpoch is PostgreSQL's epoch, 2000-01-01T00:00:00Z, in Unix seconds.
const pgEpoch = 946684800

// fractionStep is the nanoseconds between values of p fractional digits.
func fractionStep(p int) int64 {
	step := int64(time.Second)
	for range min(max(p, 0), 9) {
		step /= 10
	}
	return step
}

// roundFraction rounds ns, nanoseconds into a second, as PostgreSQL
// rounds a fraction (see above) to step nanoseconds (0: a microsecond);
// before is whether the value lies before PostgreSQL's epoch. The result
// may be a whole second.
func roundFraction(ns, step int64, before bool) int64 {
	if ns%1000 != 0 {
		ns = int64(math.RoundToEven(float64(ns)/1e9*1e6)) * 1000
	}
	if step <= 1000 {
		return ns
	}
	r := ns % step
	if r == 0 {
		return ns
	}
	if ns -= r; r > step/2 || r == step/2 && !before {
		ns += step
	}
	return ns
}

// roundTimestamp rounds t as a timestamp column of step (see codec.step)
// holds it.
func roundTimestamp(t time.Time, step int64) time.Time {
	ns := int64(t.Nanosecond())
	if ns == 0 || ns%max(step, 1000) == 0 {
		return t
	}
	return t.Add(time.Duration(roundFraction(ns, step, t.Unix() < pgEpoch) - ns))
}

// roundTimeOfDay rounds v as a time column of step holds it (24:00:00
// included, as PostgreSQL reads 23:59:59.9999999).
func roundTimeOfDay(v TimeOfDay, step int64) TimeOfDay {
	ns := int64(time.Duration(v) % time.Second)
	if ns == 0 || ns%max(step, 1000) == 0 {
		return v
	}
	return v + TimeOfDay(roundFraction(ns, step, false)-ns)
}

// RoundTimestamp rounds t as a PostgreSQL timestamp or timestamptz column
// with p fractional digits holds it; p outside 0..6 is PostgreSQL's
// default, 6.
func RoundTimestamp(t time.Time, p int) time.Time {
	return roundTimestamp(t, declaredStep(p))
}

// Round rounds t as a PostgreSQL time column with p fractional digits
// holds it; p outside 0..6 is PostgreSQL's default, 6.
func (t TimeOfDay) Round(p int) TimeOfDay {
	return roundTimeOfDay(t, declaredStep(p))
}

func declaredStep(p int) int64 {
	if p < 0 || p >= 6 {
		return 0
	}
	return fractionStep(p)
}

// RoundReal rounds f to the nearest float32, which a PostgreSQL real
// holds, as the float64 of its shortest decimal text (PostgreSQL's
// 3.1415927, not float64(float32(f))'s 3.1415927410125732), and -0 to 0.
// It reports false when f is beyond the range of a real.
func RoundReal(f float64) (float64, bool) {
	r := float32(f)
	if math.IsInf(float64(r), 0) && !math.IsInf(f, 0) || r == 0 && f != 0 {
		return 0, false // PostgreSQL: out of range for type real
	}
	return shortReal(r), true
}

// shortReal is r as the float64 of its shortest decimal text, which
// encoding/json then writes as PostgreSQL prints the real.
func shortReal(r float32) float64 {
	if r == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(r), 'g', -1, 32), 64)
	return v
}

// ParseTimestamp reads a timestamp as a Debezium column does (ISO-8601
// with or without an offset, without one taken as UTC) and gives it in
// UTC; ok is false for text that is not one, or outside years 1..9999.
func ParseTimestamp(s string) (time.Time, bool) {
	t, ok := parseTimestamp(s)
	return t, ok && inYears(t)
}

// ParseDate reads YYYY-MM-DD as a Debezium date column does; ok is false
// for text that is not one, or outside years 1..9999.
func ParseDate(s string) (Date, bool) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil || !inYears(t) {
		return Date{}, false
	}
	return Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}, true
}

// CanonicalUUID is s as the lower-case 8-4-4-4-12 form of a UUID written
// with or without hyphens or braces; ok is false when s is not a UUID.
func CanonicalUUID(s string) (string, bool) {
	return uuidString([]byte(s))
}

// ValidString is s as the decoder gives a string (see validText): invalid
// UTF-8 and NUL replaced by U+FFFD.
func ValidString(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}
