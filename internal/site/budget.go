package site

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
)

// ErrOverBudget is wrapped by the error of a Load whose files would hold
// more memory than [Options.MaxMemory] allows.
var ErrOverBudget = errors.New("over the memory budget")

// budget counts the bytes of file contents a Load holds against
// Options.MaxMemory less Options.Held.
type budget struct {
	limit int64 // bytes this Load may hold; meaningless when !on
	held  int64 // Options.Held, for the message
	total int64 // Options.MaxMemory, for the message
	on    bool
	used  atomic.Int64
}

func newBudget(opts Options) *budget {
	return &budget{limit: opts.MaxMemory - opts.Held, held: opts.Held, total: opts.MaxMemory, on: opts.MaxMemory > 0}
}

// precheck refuses, before anything is read, a set of files whose sizes
// alone exceed the budget: the files up to maxSize are held whole.
func (b *budget) precheck(files []found, maxSize int64) error {
	if !b.on {
		return nil
	}
	var need int64
	for _, f := range files {
		if f.info.Size() <= maxSize {
			need += f.info.Size()
		}
	}
	if need > b.limit {
		return b.refuse(need, files, maxSize)
	}
	return nil
}

// add counts n more bytes held; it fails once the budget is exceeded,
// which a file that grew since the walk, or compressed variants, can do.
func (b *budget) add(n int64, files []found, maxSize int64) error {
	if !b.on {
		return nil
	}
	if used := b.used.Add(n); used > b.limit {
		return b.refuse(used, files, maxSize)
	}
	return nil
}

// refuse says how much was needed against what was allowed, and which
// files weigh most: those are what to stream or drop.
func (b *budget) refuse(need int64, files []found, maxSize int64) error {
	var held []found
	for _, f := range files {
		if f.info.Size() <= maxSize {
			held = append(held, f)
		}
	}
	sort.Slice(held, func(i, j int) bool {
		if a, b := held[i].info.Size(), held[j].info.Size(); a != b {
			return a > b
		}
		return held[i].name < held[j].name
	})
	var big []string
	for _, f := range held[:min(len(held), 5)] {
		big = append(big, fmt.Sprintf("%s (%d bytes)", f.name, f.info.Size()))
	}
	room := fmt.Sprintf("the budget of %d bytes", b.total)
	if b.held > 0 {
		room += fmt.Sprintf(", of which the content still served holds %d", b.held)
	}
	return fmt.Errorf("%w: the files held in memory need at least %d bytes, over %s; the largest: %s",
		ErrOverBudget, need, room, strings.Join(big, ", "))
}
