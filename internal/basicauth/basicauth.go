// Package basicauth checks HTTP Basic credentials (RFC 7617) against an
// htpasswd-style file of bcrypt hashes.
//
// The file holds one "user:hash" line per user, as written by
// `htpasswd -B` (Apache) or any bcrypt tool; blank lines and lines starting
// with '#' are skipped. Only bcrypt ($2a$, $2b$, $2y$) is accepted: the
// other htpasswd schemes (MD5-crypt, SHA-1, crypt) are too fast to hash to
// protect a password that leaks.
//
// Timing reveals neither valid user names nor passwords: every user name is
// compared in constant time, and an unknown user still costs one bcrypt
// comparison, against a dummy hash of the same cost.
//
// A bcrypt comparison costs tens of milliseconds of CPU by design, which
// makes every unremembered check a way for a client to spend the server's
// CPU. Three bounds keep that cost in proportion: checks already made
// (passed or failed) are remembered, so repeating a request costs a hash
// lookup; at most one comparison per CPU runs at a time, and a check that
// finds every slot busy fails at once ([Busy]) rather than queueing; and a
// check for a client that has gone ([Users.Alive]) is not made.
package basicauth

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Users is a parsed password file. It is safe for concurrent use.
type Users struct {
	users []user
	dummy []byte // a well-formed hash no password matches in practice

	// Alive, when set, is asked before each bcrypt comparison whether the
	// client of ctx is still there; when it reports false the comparison is
	// skipped and Check returns [Gone]. It must not block. Set it before
	// the first Check.
	Alive func(ctx context.Context) bool

	// Browsers send credentials with every request, and a client that
	// guesses repeats itself. Checks made are remembered, keyed by a salted
	// SHA-256 of user and password, so that only the first request with a
	// given pair pays for bcrypt. Because the key holds the password, a
	// remembered failure of a wrong password never refuses the right one:
	// nobody can lock a user out through this cache. The salt is random per
	// Users, so the keys are worthless outside this process.
	salt   [32]byte
	mu     sync.Mutex
	passed map[[32]byte]struct{}
	failed map[[32]byte]struct{}

	// slots bounds concurrent bcrypt comparisons to the number of CPUs, so
	// that a flood of wrong passwords cannot starve the requests of users
	// already checked.
	slots chan struct{}
}

// A Result is the outcome of [Users.Check].
type Result int

const (
	Failed Result = iota // wrong user or password: answer 401
	Passed               // the right password for the user
	Busy                 // every comparison slot is in use: answer 503, try later
	Gone                 // the client has gone (Alive said so, or ctx ended): nobody to answer
)

func (r Result) String() string {
	switch r {
	case Passed:
		return "passed"
	case Busy:
		return "busy"
	case Gone:
		return "gone"
	}
	return "failed"
}

type user struct {
	name string
	hash []byte
}

// maxRemembered bounds each of the two caches of checks (passed and
// failed), about 64 bytes an entry; when one is full, an arbitrary entry
// makes room. Failures are what an attacker controls: evicting one of them
// costs the attacker, who must then pay a bcrypt again, not a user.
const maxRemembered = 4096

// Load reads the password file at path; see [Parse].
func Load(path string) (*Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("basicauth: %w", err)
	}
	defer f.Close()
	u, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("basicauth: %s: %w", path, err)
	}
	return u, nil
}

// Parse reads a password file. Errors name the line and say what is wrong
// with it; a file that names no user is an error too, since it would lock
// everyone out.
func Parse(r io.Reader) (*Users, error) {
	u := &Users{passed: map[[32]byte]struct{}{}, failed: map[[32]byte]struct{}{}, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		if !ok || name == "" || hash == "" {
			return nil, fmt.Errorf("line %d: want user:bcrypt-hash", n)
		}
		if seen[name] {
			return nil, fmt.Errorf("line %d: user %q appears twice", n, name)
		}
		seen[name] = true
		cost, err := bcrypt.Cost([]byte(hash))
		if err != nil || !isBcrypt(hash) {
			return nil, fmt.Errorf("line %d: user %q: not a bcrypt hash ($2y$...); create it with `htpasswd -B FILE %s`", n, name, name)
		}
		if u.dummy == nil {
			u.dummy = dummyHash(cost)
		}
		u.users = append(u.users, user{name: name, hash: []byte(hash)})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(u.users) == 0 {
		return nil, errors.New("no users: add user:hash lines (htpasswd -B)")
	}
	rand.Read(u.salt[:])
	return u, nil
}

func isBcrypt(hash string) bool {
	return strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$")
}

// dummyHash returns a syntactically valid bcrypt hash of the given cost. It
// is made up rather than computed, which would cost a bcrypt run at start-up;
// comparing a password against it costs as much as against a real one.
func dummyHash(cost int) []byte {
	return fmt.Appendf(nil, "$2a$%02d$%s", cost, "C6UzMDM.H6dfI/f/IKxGhuiY1VLNlVzzn1F8rnj6H1/1aZhd3rSY.")
}

// Check reports whether password is the password of user. A pair checked
// before is answered from memory. Otherwise Check returns Gone without
// comparing when ctx has ended or Alive reports the client gone, Busy
// without comparing when every CPU is already busy with a comparison, and
// else runs bcrypt and remembers the outcome. It never blocks waiting.
func (u *Users) Check(ctx context.Context, name, password string) Result {
	key := u.key(name, password)
	u.mu.Lock()
	_, passed := u.passed[key]
	_, failed := u.failed[key]
	u.mu.Unlock()
	switch {
	case passed:
		return Passed
	case failed:
		return Failed
	case ctx.Err() != nil, u.Alive != nil && !u.Alive(ctx):
		return Gone
	}

	// Look at every user, whether or not an earlier one matched, so that
	// the time taken does not depend on where the name is in the file.
	hash, found := u.dummy, 0
	for _, e := range u.users {
		if subtle.ConstantTimeCompare([]byte(e.name), []byte(name)) == 1 {
			hash, found = e.hash, 1
		}
	}
	select {
	case u.slots <- struct{}{}:
	default:
		// Queueing would let a flood of guesses hold every request that
		// needs a comparison for as long as the flood lasts; refusing at
		// once keeps the wait bounded and tells the client when to retry.
		return Busy
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	<-u.slots
	ok := err == nil && found == 1
	u.mu.Lock()
	cache := u.failed
	if ok {
		cache = u.passed
	}
	remember(cache, key)
	u.mu.Unlock()
	if ok {
		return Passed
	}
	return Failed
}

// remember adds key to cache, making room first when it is full.
func remember(cache map[[32]byte]struct{}, key [32]byte) {
	if len(cache) >= maxRemembered {
		for k := range cache {
			delete(cache, k) // Go's map order: an arbitrary entry
			break
		}
	}
	cache[key] = struct{}{}
}

func (u *Users) key(name, password string) [32]byte {
	h := sha256.New()
	h.Write(u.salt[:])
	// The name's length goes first, so that no other split of the same
	// bytes into name and password gives the same key.
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(name))))
	h.Write([]byte(name))
	h.Write([]byte(password))
	var k [32]byte
	h.Sum(k[:0])
	return k
}
