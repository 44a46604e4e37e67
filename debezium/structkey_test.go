package debezium

import "testing"

// TestStructKeyTextAsPrinted: with StringConverter keys, Struct.toString
// prints a value as it is, so a text key such as "[A-1]", "{B}" or "a,b"
// arrives as Struct{code=[A-1]}: the value of a column declared text is
// that text, not JSON (as MongoDB's Extended JSON is), up to the next
// field.
func TestStructKeyTextAsPrinted(t *testing.T) {
	d, err := NewDecoder(Options{Columns: map[string]string{"code": "text", "label": "text"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"[A-1]", "{B}", "a,b", "007"} {
		value := `{"op":"c","after":{"code":"` + code + `","label":"x"},"source":{"lsn":9}}`
		ch, err := d.Decode([]byte(`Struct{code=`+code+`}`), []byte(value))
		if err != nil {
			t.Errorf("key Struct{code=%s} of a text column: %v", code, err)
			continue
		}
		if got := ch.Key["code"]; got != code {
			t.Errorf("key Struct{code=%s}: code %#v, want %q", code, got, code)
		}
	}
}
