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
		want       bool
	}{
		{"alice", "correct horse", true},
		{"alice", "correct horse", true}, // remembered
		{"bob", "s3cret y", true},
		{"alice", "Correct horse", false},
		{"alice", "", false},
		{"Alice", "correct horse", false},
		{"bob", "correct horse", false},
		{"carol", "correct horse", false},
		{"", "", false},
		{"alic", "correct horse", false},
	} {
		if got := u.Check(ctx, tc.user, tc.pass); got != tc.want {
			t.Errorf("Check(%q, %q) = %v, want %v", tc.user, tc.pass, got, tc.want)
		}
	}
	if len(u.passed) != 2 {
		t.Errorf("%d checks remembered, want 2 (only successes)", len(u.passed))
	}
}

func TestCheckCancelled(t *testing.T) {
	u, err := Parse(strings.NewReader("alice:" + hash(t, "pw")))
	if err != nil {
		t.Fatal(err)
	}
	for range cap(u.slots) {
		u.slots <- struct{}{} // every CPU busy
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if u.Check(ctx, "alice", "pw") {
		t.Error("Check with a cancelled context and no free slot = true")
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
