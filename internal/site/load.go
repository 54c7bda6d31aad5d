package site

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"
)

// load is Load; its errors are wrapped once here with the site's name.
func load(ctx context.Context, opts Options) (*Site, error) {
	label := opts.Dir
	if label == "" {
		label = "fs"
	}
	s, err := build(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("site: load %s: %w", label, err)
	}
	return s, nil
}

// found is a regular file met by the walk.
type found struct {
	name string      // slash-separated, relative to the root
	info fs.FileInfo // of the file itself (the target, for a symlink)
}

// loaded is a found file after reading: what its entry and any entry using
// it as a precompressed sibling are made of.
type loaded struct {
	found
	ctype    string
	data     []byte // nil when streamed
	streamed bool
	sum      string // opaque part of the entity-tag; "" when streamed
	gz       []byte // in-process gzip variant, when worth keeping
}

func build(ctx context.Context, opts Options) (*Site, error) {
	if (opts.Dir == "") == (opts.FS == nil) {
		return nil, errors.New("exactly one of Options.Dir and Options.FS must be set")
	}
	maxSize := opts.MaxFileSize
	if maxSize == 0 {
		maxSize = DefaultMaxFileSize
	}

	var src source
	var fsys fs.FS
	if opts.Dir != "" {
		abs, err := filepath.Abs(opts.Dir)
		if err != nil {
			return nil, err
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, err
		}
		root, err := os.OpenRoot(real)
		if err != nil {
			return nil, err
		}
		defer root.Close()
		// Reading through an os.Root makes every open refuse to leave the
		// tree, whatever happens to the tree while Load runs.
		src, fsys = source{dir: real}, root.FS()
	} else {
		src, fsys = source{fsys: opts.FS}, opts.FS
	}

	files, dirs, err := walk(ctx, src, fsys)
	if err != nil {
		return nil, err
	}
	names := make(map[string]bool, len(files))
	for _, f := range files {
		names[f.name] = true
	}
	b := newBudget(opts)
	if err := b.precheck(files, maxSize); err != nil {
		return nil, err
	}
	all, err := readAll(ctx, fsys, files, names, maxSize, b)
	if err != nil {
		return nil, err
	}
	s, err := assemble(all, dirs, src, opts)
	if err != nil {
		return nil, err
	}
	if err := b.add(s.stats.Bytes-b.used.Load(), files, maxSize); err != nil {
		return nil, err // the listings tipped it over
	}
	return s, nil
}

// walk lists the regular files of the tree and, for each directory, the
// names of its children as a listing shows them. It skips what resolve
// would refuse to serve (dot names, names no URL can reach), anything that
// is neither a regular file nor a directory (a FIFO would block a reader
// forever), symlinks to directories, and symlinks leading out of the tree.
func walk(ctx context.Context, src source, fsys fs.FS) ([]found, map[string][]string, error) {
	var files []found
	dirs := map[string][]string{}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if name == "." {
			dirs["."] = nil
			return nil
		}
		parent, base := path.Dir(name), path.Base(name)
		if !validSegment(base) || base[0] == '.' && (parent != "." || base != wellKnown) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		var info fs.FileInfo
		switch t := d.Type(); {
		case t.IsDir():
			dirs[name] = nil
			dirs[parent] = append(dirs[parent], base+"/")
			return nil
		case t.IsRegular():
			if info, err = d.Info(); err != nil {
				return err
			}
		case t&fs.ModeSymlink != 0 && src.dir != "":
			if _, err := src.inside(filepath.Join(src.dir, filepath.FromSlash(name))); err != nil {
				if errors.Is(err, errOutside) || errors.Is(err, fs.ErrNotExist) {
					return nil // leads out, or dangles
				}
				return err
			}
			if info, err = fs.Stat(fsys, name); err != nil {
				return err
			}
			if !info.Mode().IsRegular() {
				return nil // a directory: not followed
			}
		default:
			return nil
		}
		files = append(files, found{name: name, info: info})
		dirs[parent] = append(dirs[parent], base)
		return nil
	})
	return files, dirs, err
}

// readAll reads and prepares the files in parallel, one worker per CPU:
// hashing and best-level gzip dominate the cost of Load.
func readAll(ctx context.Context, fsys fs.FS, files []found, names map[string]bool, maxSize int64, b *budget) ([]*loaded, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	out := make([]*loaded, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(files), 1)) {
		wg.Go(func() {
			for i := range next {
				if ctx.Err() != nil {
					continue // drain: another file failed, or Load was cancelled
				}
				l, err := readFile(fsys, files[i], names, maxSize)
				if err == nil {
					err = b.add(int64(len(l.data)+len(l.gz)), files, maxSize)
				}
				if err != nil {
					cancel(err)
					continue
				}
				out[i] = l
			}
		})
	}
feed:
	for i := range files {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// readFile reads one file, or only its first bytes when it is to be
// streamed, and computes what does not depend on other files.
func readFile(fsys fs.FS, f found, names map[string]bool, maxSize int64) (*loaded, error) {
	l := &loaded{found: f}
	fh, err := fsys.Open(f.name)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	_, seekable := fh.(io.Seeker)
	if f.info.Size() > maxSize && seekable {
		// Large: sniff the type if the extension does not give it, and
		// leave the rest on disk.
		var head [512]byte
		n, err := io.ReadFull(fh, head[:])
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return nil, fmt.Errorf("read %s: %w", f.name, err)
		}
		l.ctype = contentType(f.name, head[:n])
		l.streamed = true
		return l, nil
	}
	// Read what is there now, which may differ from the size the walk saw.
	data, err := readSized(fh, f.info.Size())
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.name, err)
	}
	l.data = data
	l.ctype = contentType(f.name, data[:min(len(data), 512)])
	sum := sha256.Sum256(data)
	l.sum = base64.RawURLEncoding.EncodeToString(sum[:12])
	if compressible(l.ctype) && !names[f.name+".gz"] {
		if gz := gzipBytes(data); len(gz) < len(data) {
			l.gz = gz
		}
	}
	return l, nil
}

// readSized reads r to its end into a buffer made for size bytes, the
// size the walk saw: one read(2) for a file of that size, where io.ReadAll
// would make a dozen with a doubling buffer. A file that has grown since
// is still read whole.
func readSized(r io.Reader, size int64) ([]byte, error) {
	buf := make([]byte, 0, max(size, 0)+1) // +1: the read that sees EOF needs room
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// assemble builds the index from the loaded files and the directory tree.
func assemble(all []*loaded, dirs map[string][]string, src source, opts Options) (*Site, error) {
	pol := newPolicy(opts.CacheControl)
	s := &Site{index: make(map[string]*entry, len(all)*2+len(dirs)*2), src: src, htmlCache: pol.html}
	byName := make(map[string]*loaded, len(all))
	for _, l := range all {
		byName[l.name] = l
	}
	for _, l := range all {
		e := fileEntry(l, byName, &pol)
		s.index["/"+l.name] = e
		s.stats.Entries++
		if l.streamed {
			s.stats.Streamed++
		}
		s.stats.Bytes += int64(len(l.data) + len(l.gz))
	}

	for dir, children := range dirs {
		key, slash := "/", "/"
		if dir != "." {
			key, slash = "/"+dir, "/"+dir+"/"
		}
		var e *entry
		if index := s.index[slash+"index.html"]; index != nil {
			e = index
		} else if opts.Listing {
			sort.Strings(children)
			e = memoryEntry(listingPage(slash, children), "text/html; charset=utf-8", time.Time{}, pol.html)
			s.stats.Bytes += e.bytes()
		} else {
			continue
		}
		s.index[slash] = e
		if key != slash {
			s.index[key] = &entry{
				location: header((&url.URL{Path: slash}).EscapedPath()),
				cache:    pol.html,
			}
		}
	}

	// The 404 page is written from memory, without validators or ranges: a
	// 404.html larger than MaxFileSize is not used, nor are its streamed
	// variants.
	if e := s.index["/404.html"]; e != nil && !e.identity.streamed {
		nf := *e
		nf.cache = pol.html
		nf.variants = nil
		for _, v := range e.variants {
			if !v.streamed {
				nf.variants = append(nf.variants, v)
			}
		}
		s.notFound = &nf
	}
	if opts.Fallback != "" {
		key, ok := resolve(opts.Fallback)
		e := s.index[key]
		if !ok || e == nil || e.location != nil {
			return nil, fmt.Errorf("fallback %q: no such file in the site", opts.Fallback)
		}
		fb := *e
		fb.cache = pol.html                    // never the immutable policy for a route
		fb.variants = slices.Clone(e.variants) // prepared with fb's Cache-Control
		s.fallback = &fb
	}
	s.fixed = fixedFields(opts.Header)
	s.prepare()
	return s, nil
}

// fileEntry builds the entry of a loaded file, with its precompressed
// siblings (when present and smaller) or its in-process gzip as variants.
func fileEntry(l *loaded, byName map[string]*loaded, pol *policy) *entry {
	e := &entry{
		ctype: header(l.ctype),
		cache: pol.forFile("/"+l.name, l.ctype),
	}
	e.identity = loadedRep(l, "", "")
	for _, c := range codings {
		sib := byName[l.name+c.suffix]
		switch {
		case sib != nil && sib.info.Size() < l.info.Size():
			e.variants = append(e.variants, loadedRep(sib, c.name, c.tag))
		case c.name == "gzip" && l.gz != nil:
			e.variants = append(e.variants, memoryRep(l.gz, l.info.ModTime(), c.name, hashETag(l.gz, c.tag)))
		}
	}
	return e
}

// loadedRep returns the representation of a loaded file, as identity or, with
// a coding, as a precompressed variant of another file.
func loadedRep(l *loaded, coding, tag string) rep {
	if l.streamed {
		r := rep{coding: coding, tag: tag, streamed: true, name: l.name}
		if coding != "" {
			r.encoding = header(coding)
		}
		return r
	}
	return memoryRep(l.data, l.info.ModTime(), coding, `"`+l.sum+tag+`"`)
}

// memoryEntry builds the entry of generated content, with a gzip variant
// when the type is compressible and the variant smaller.
func memoryEntry(data []byte, ctype string, mod time.Time, cache []string) *entry {
	e := &entry{ctype: header(ctype), cache: cache}
	e.identity = memoryRep(data, mod, "", hashETag(data, ""))
	if compressible(ctype) {
		if gz := gzipBytes(data); len(gz) < len(data) {
			e.variants = []rep{memoryRep(gz, mod, "gzip", hashETag(gz, "-gz"))}
		}
	}
	return e
}

// bytes returns the memory held by e's representations.
func (e *entry) bytes() int64 {
	n := int64(len(e.identity.data))
	for _, v := range e.variants {
		n += int64(len(v.data))
	}
	return n
}
