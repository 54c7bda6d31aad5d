package transfer

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/tree"
)

// Writer writes the tar stream copy mode sends to the daemon. Every entry
// has a fixed time and owner, so the stream depends on the files' names,
// content and executable bits only, not on who checked them out or when.
type Writer struct {
	tw    *tar.Writer
	cw    *countWriter
	mtime time.Time
	dirs  map[string]bool
	// owner of what parents, Bytes and Tree add (see Owner).
	uid, gid int
	readOnly bool
}

// NewWriter starts a stream on w whose entries carry mtime.
func NewWriter(w io.Writer, mtime time.Time) *Writer {
	cw := &countWriter{w: w}
	return &Writer{tw: tar.NewWriter(cw), cw: cw, mtime: mtime, dirs: map[string]bool{}}
}

// Dir adds the directory name (slash-separated, relative) owned by uid:gid,
// and its parents, owned by root.
func (w *Writer) Dir(name string, uid, gid int) error {
	if err := w.parents(name); err != nil {
		return err
	}
	w.dirs[name] = true
	return w.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, Uid: uid, Gid: gid, ModTime: w.mtime, Format: tar.FormatPAX})
}

// Owner makes what Bytes and Tree add from now on, and the directories
// they add, belong to uid:gid rather than root, with every write bit
// cleared when readOnly. A warm copy-mode container keeps each build's
// source owned by the build's user but read-only, so that the build
// cannot change it by accident while the runner, as that user, can still
// remove it once the build is done.
func (w *Writer) Owner(uid, gid int, readOnly bool) {
	w.uid, w.gid, w.readOnly = uid, gid, readOnly
}

// mode is m as the current owner setting wants it.
func (w *Writer) mode(m int64) int64 {
	if w.readOnly {
		return m &^ 0o222
	}
	return m
}

func (w *Writer) header(h *tar.Header) error {
	h.Uid, h.Gid, h.Mode = w.uid, w.gid, w.mode(h.Mode)
	h.ModTime, h.Format = w.mtime, tar.FormatPAX
	return w.tw.WriteHeader(h)
}

func (w *Writer) parents(name string) error {
	var missing []string
	for d := path.Dir(name); d != "." && d != "/" && !w.dirs[d]; d = path.Dir(d) {
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		w.dirs[d] = true
		if err := w.header(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}); err != nil {
			return err
		}
	}
	return nil
}

// Bytes adds a file holding data, owned by root unless Owner says
// otherwise.
func (w *Writer) Bytes(name string, data []byte, mode int64) error {
	if err := w.parents(name); err != nil {
		return err
	}
	if err := w.header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))}); err != nil {
		return err
	}
	_, err := w.tw.Write(data)
	return err
}

// Tree adds files (slash-separated paths relative to dir, as source.Files
// lists them) under prefix, owned by root unless Owner says otherwise:
// regular files with mode 0644, or 0755 when the owner may execute them,
// symbolic links as they are. A
// listed file missing from the work tree (a tracked file deleted but not
// committed) is left out, as a build in the tree would not see it either.
// Anything else (a socket, a device) is refused.
func (w *Writer) Tree(prefix, dir string, files []string) error {
	for _, f := range files {
		host := filepath.Join(dir, filepath.FromSlash(f))
		name := path.Join(prefix, f)
		fi, err := os.Lstat(host)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("source %s: %w", f, err)
		}
		if err := w.parents(name); err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(host)
			if err != nil {
				return fmt.Errorf("source %s: %w", f, err)
			}
			if err := w.header(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			mode := int64(0o644)
			if fi.Mode()&0o100 != 0 {
				mode = 0o755
			}
			if err := w.file(name, host, fi.Size(), mode); err != nil {
				return fmt.Errorf("source %s: %w", f, err)
			}
		default:
			return fmt.Errorf("source %s: %s is neither a file nor a symbolic link, which a build cannot use: remove it or add it to .gitignore", f, fi.Mode().Type())
		}
	}
	return nil
}

func (w *Writer) file(name, host string, size, mode int64) error {
	f, err := os.Open(host)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := w.header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: size}); err != nil {
		return err
	}
	// A file that grew while it was read is cut at the size in the
	// header; one that shrank fails the copy, and the tar writer says so.
	_, err = io.CopyN(w.tw, f, size)
	return err
}

// Close ends the stream and returns how many bytes it was.
func (w *Writer) Close() (int64, error) {
	err := w.tw.Close()
	return w.cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Extract unpacks the tar stream "cp CONTAINER:/DIR -" writes into dst:
// entries under strip/ (the streamed directory's own name) become files and
// directories under dst. Only directories and regular files are accepted,
// with names that stay inside dst; a build's outputs are nothing else, and
// a stream that holds anything else did not come from one. It returns the
// number of bytes read.
func Extract(r io.Reader, dst, strip string) (int64, error) {
	cr := &countReader{r: r}
	tr := tar.NewReader(cr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return cr.n, nil
		}
		if err != nil {
			return cr.n, fmt.Errorf("outputs: %w", err)
		}
		name := path.Clean(h.Name)
		rel, ok := strings.CutPrefix(name, strip+"/")
		if name == strip {
			rel, ok = "", true
		}
		if !ok || (rel != "" && !filepath.IsLocal(rel)) || strings.Contains(rel, `\`) {
			return cr.n, fmt.Errorf("outputs: refusing %q: not under %s/", h.Name, strip)
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return cr.n, fmt.Errorf("outputs: %w", err)
			}
		case tar.TypeReg:
			if err := tree.WriteNew(target, tr, fs.FileMode(h.Mode)&0o777); err != nil {
				return cr.n, fmt.Errorf("outputs: %w", err)
			}
		default:
			return cr.n, fmt.Errorf("outputs: refusing %q: a build writes only files and directories", h.Name)
		}
	}
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readTar returns the regular files of a small tar stream by name, reading
// at most limit bytes of content.
func readTar(r io.Reader, limit int64) (map[string][]byte, error) {
	files := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, limit))
		if err != nil {
			return nil, err
		}
		files[h.Name] = b
	}
}
