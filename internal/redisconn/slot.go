package redisconn

import (
	"strconv"
	"strings"
	"sync"
)

// Slots is the number of hash slots of a Redis Cluster.
const Slots = 16384

// Slot is the Redis Cluster hash slot of a key: CRC16 (XMODEM) of its hash
// tag, or of the whole key when it has none.
func Slot(key string) int {
	return int(crc16(HashTag(key)) % Slots)
}

// HashTag is the text between the first "{" and the next "}", when that
// text is not empty; otherwise the whole key.
func HashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// SlotTag is a short hash tag that maps to slot (0 ≤ slot < Slots).
func SlotTag(slot int) string { return slotTags()[slot] }

var slotTags = sync.OnceValue(func() []string {
	tags := make([]string, Slots)
	for n, found := 0, 0; found < Slots; n++ {
		tag := strconv.Itoa(n)
		if sl := Slot(tag); tags[sl] == "" {
			tags[sl] = tag
			found++
		}
	}
	return tags
})
