package redisconn

import "testing"

func TestSlot(t *testing.T) {
	if got := crc16("123456789"); got != 0x31C3 {
		t.Errorf("crc16(123456789) = %#x, want 0x31c3 (the cluster specification's check value)", got)
	}
	tests := []struct {
		key  string
		want int
	}{
		{"foo", 12182},
		{"bar", 5061},
		{"{user1000}.following", Slot("user1000")},
		{"foo{}{bar}", Slot("foo{}{bar}")},
		{"foo{{bar}}zap", Slot("{bar")},
	}
	for _, tt := range tests {
		if got := Slot(tt.key); got != tt.want {
			t.Errorf("Slot(%q) = %d, want %d", tt.key, got, tt.want)
		}
	}
	for sl := range Slots {
		if tag := SlotTag(sl); tag == "" || Slot(tag) != sl {
			t.Fatalf("SlotTag(%d) = %q, in slot %d", sl, tag, Slot(tag))
		}
	}
}
