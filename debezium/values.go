package debezium

import (
	"strconv"
	"time"
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

// String returns HH:MM:SS, with .ffffff when there is a fraction of a second
// (nine digits when the nanoseconds are not whole microseconds).
func (t TimeOfDay) String() string {
	return string(t.appendTo(make([]byte, 0, 18)))
}

func (t TimeOfDay) appendTo(b []byte) []byte {
	d := time.Duration(t)
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
	switch {
	case ns == 0:
	case ns%1000 == 0:
		b = append(b, '.')
		b = appendPadded(b, ns/1000, 6)
	default:
		b = append(b, '.')
		b = appendPadded(b, ns, 9)
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
