package redis

import (
	"strconv"
	"strings"
	"sync"
)

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// slot is the Redis Cluster hash slot of a key: CRC16 (XMODEM) of its hash
// tag, or of the whole key when it has none. A script may only touch keys
// of one slot, so a cluster's batch is grouped by it.
func slot(key string) int {
	return int(crc16(hashTag(key)) % clusterSlots)
}

// hashTag is the text between the first "{" and the next "}", when that
// text is not empty; otherwise the whole key.
func hashTag(key string) string {
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

// slotTags holds, for every slot, a short hash tag that maps to it.
var slotTags = sync.OnceValue(func() []string {
	tags := make([]string, clusterSlots)
	for n, found := 0, 0; found < clusterSlots; n++ {
		tag := strconv.Itoa(n)
		if sl := slot(tag); tags[sl] == "" {
			tags[sl] = tag
			found++
		}
	}
	return tags
})
