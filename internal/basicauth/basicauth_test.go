package basicauth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func hash(t testing.TB, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestCheck(t *testing.T) {
	// htpasswd -B writes $2y$; x/crypto writes $2a$: both must work.
	y := "$2y$" + strings.TrimPrefix(hash(t, "s3cret y"), "$2a$")
	file := "# users\n\nalice:" + hash(t, "correct horse") + "\nbob:" + y + "\n"
	path := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	u, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		user, pass string
		want       Result
	}{
		{"alice", "correct horse", Passed},
		{"alice", "correct horse", Passed}, // remembered
		{"bob", "s3cret y", Passed},
		{"alice", "Correct horse", Failed},
		{"alice", "Correct horse", Failed}, // remembered
		{"alice", "", Failed},
		{"Alice", "correct horse", Failed},
		{"bob", "correct horse", Failed},
		{"carol", "correct horse", Failed},
		{"", "", Failed},
		{"alic", "correct horse", Failed},
	} {
		if got := u.Check(ctx, tc.user, tc.pass); got != tc.want {
			t.Errorf("Check(%q, %q) = %v, want %v", tc.user, tc.pass, got, tc.want)
		}
	}
	if len(u.passed) != 2 || len(u.failed) != 7 {
		t.Errorf("%d passed and %d failed checks remembered, want 2 and 7", len(u.passed), len(u.failed))
	}
}

// TestCheckRemembersWithoutHashing shows that a remembered pair, passed or
// failed, is answered with every comparison slot taken, that is without
// bcrypt, while a new pair is refused as Busy rather than waiting; and that
// a remembered failure never refuses the right password.
func TestCheckRemembersWithoutHashing(t *testing.T) {
	u, err := Parse(strings.NewReader("alice:" + hash(t, "pw")))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if got := u.Check(ctx, "alice", "guess"); got != Failed {
		t.Fatalf("wrong password: %v", got)
	}
	for range cap(u.slots) {
		u.slots <- struct{}{} // every CPU busy
	}
	for _, tc := range []struct {
		pass string
		want Result
	}{
		{"guess", Failed}, // remembered: no slot needed
		{"pw", Busy},      // the right one is not locked out, only unremembered
		{"other", Busy},
	} {
		if got := u.Check(ctx, "alice", tc.pass); got != tc.want {
			t.Errorf("all slots busy: Check(alice, %q) = %v, want %v", tc.pass, got, tc.want)
		}
	}
	for range cap(u.slots) {
		<-u.slots
	}
	if got := u.Check(ctx, "alice", "pw"); got != Passed {
		t.Errorf("slots free again: Check(alice, pw) = %v, want passed", got)
	}
}

func TestCheckGone(t *testing.T) {
	u, err := Parse(strings.NewReader("alice:" + hash(t, "pw")))
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if got := u.Check(cancelled, "alice", "pw"); got != Gone {
		t.Errorf("Check with a cancelled context = %v, want gone", got)
	}
	asked := 0
	u.Alive = func(context.Context) bool { asked++; return false }
	if got := u.Check(context.Background(), "alice", "pw"); got != Gone || asked != 1 {
		t.Errorf("Check with Alive false = %v after %d calls, want gone after 1", got, asked)
	}
	if len(u.passed)+len(u.failed) != 0 {
		t.Error("a check not made was remembered")
	}
	u.Alive = func(context.Context) bool { return true }
	if got := u.Check(context.Background(), "alice", "pw"); got != Passed {
		t.Errorf("Check with Alive true = %v, want passed", got)
	}
}

func TestRememberedIsBounded(t *testing.T) {
	cache := map[[32]byte]struct{}{}
	var k [32]byte
	for i := range maxRemembered + 10 {
		k[0], k[1] = byte(i), byte(i>>8)
		remember(cache, k)
		if _, ok := cache[k]; !ok {
			t.Fatalf("key %d not remembered", i)
		}
	}
	if len(cache) != maxRemembered {
		t.Errorf("%d entries after %d insertions, want the bound %d", len(cache), maxRemembered+10, maxRemembered)
	}
}

// TestDummyHashCostsABcrypt checks that an unknown user's comparison runs a
// full bcrypt rather than failing fast on a malformed hash, which would tell
// an attacker which names exist.
func TestDummyHashCostsABcrypt(t *testing.T) {
	for _, cost := range []int{bcrypt.MinCost, 10, 12} {
		d := dummyHash(cost)
		if got, err := bcrypt.Cost(d); err != nil || got != cost {
			t.Errorf("Cost(dummyHash(%d)) = %d, %v", cost, got, err)
		}
		if cost > 10 {
			continue // enough to see that it parses
		}
		if err := bcrypt.CompareHashAndPassword(d, []byte("x")); !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			t.Errorf("comparing with dummyHash(%d) = %v, want a mismatch after a full run", cost, err)
		}
	}
}

func TestKeyDistinguishesSplits(t *testing.T) {
	u := &Users{}
	if u.key("a", "\x00b") == u.key("a\x00", "b") || u.key("ab", "c") == u.key("a", "bc") {
		t.Error("two different user/password splits share a key")
	}
}

func TestParseErrors(t *testing.T) {
	good := hash(t, "pw")
	for _, tc := range []struct{ name, file, want string }{
		{"empty", "", "no users"},
		{"comments only", "# nobody\n", "no users"},
		{"no colon", "alice\n", "line 1: want user:bcrypt-hash"},
		{"empty hash", "alice:\n", "line 1: want user:bcrypt-hash"},
		{"md5", "alice:$apr1$abc$def\n", `line 1: user "alice": not a bcrypt hash`},
		{"sha", "alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", "htpasswd -B"},
		{"duplicate", "a:" + good + "\n\na:" + good + "\n", `line 3: user "a" appears twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse = %v, want an error saying %q", err, tc.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.HasPrefix(err.Error(), "basicauth: open ") {
		t.Errorf("Load(missing) = %v", err)
	}
}
