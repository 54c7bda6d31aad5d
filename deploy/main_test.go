package deploy

import (
	"os"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/deploytest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	deploytest.Cleanup()
	os.Exit(code)
}
