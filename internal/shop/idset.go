package shop

import "math/rand/v2"

// idSet is a set of ids that picks a random member in O(1) and stays
// deterministic for a seed: members live in a slice (never a map, whose
// iteration order is random), and removal moves the last member into the
// hole. Sorting the ids of a map on every change made a long workload
// quadratic.
type idSet[K comparable] struct {
	list []K
	at   map[K]int
}

func newIDSet[K comparable]() *idSet[K] { return &idSet[K]{at: map[K]int{}} }

func (s *idSet[K]) len() int { return len(s.list) }

func (s *idSet[K]) has(k K) bool {
	_, ok := s.at[k]
	return ok
}

func (s *idSet[K]) add(k K) {
	if _, ok := s.at[k]; ok {
		return
	}
	s.at[k] = len(s.list)
	s.list = append(s.list, k)
}

func (s *idSet[K]) remove(k K) {
	i, ok := s.at[k]
	if !ok {
		return
	}
	last := s.list[len(s.list)-1]
	s.list[i] = last
	s.at[last] = i
	s.list = s.list[:len(s.list)-1]
	delete(s.at, k)
}

// pick returns a random member; the set must not be empty. One pick in four
// comes from a small hot set (the first few slots), so that some rows change
// many times and their versions meet duplicates and reordering often.
func (s *idSet[K]) pick(r *rand.Rand) K {
	if r.IntN(4) == 0 {
		return s.list[r.IntN(min(len(s.list), 8))]
	}
	return s.list[r.IntN(len(s.list))]
}
