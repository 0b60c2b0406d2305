package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// newFlagSet returns a flag set for the command named name (e.g. "audit
// list") whose help and errors parseFlags prints, not the flag package:
// help goes to stdout with exit 0, errors name the flag as --flag.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// flagNameRE finds a flag name in the flag package's error messages, which
// write it with one dash.
var flagNameRE = regexp.MustCompile(`(defined: |for flag |for |argument: )-+([A-Za-z0-9][\w.-]*)`)

// flagError rewrites a flag package error to name the flag as --flag.
func flagError(err error) error {
	return errors.New(flagNameRE.ReplaceAllString(err.Error(), "${1}--${2}"))
}

// parseFlags parses args with fs. It returns done=true when the command
// must stop: after printing usage and fs's flags to stdout for -h/--help
// (code 0), or an error naming the flag to stderr (code 2).
func parseFlags(fs *flag.FlagSet, args []string, usage string, stdout, stderr io.Writer) (code int, done bool) {
	err := fs.Parse(args)
	if err == nil {
		return 0, false
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		printFlags(stdout, fs)
		return 0, true
	}
	fmt.Fprintf(stderr, "tssgate %s: %v\nRun 'tssgate %s --help' for usage.\n", fs.Name(), flagError(err), fs.Name())
	return 2, true
}

// printFlags writes fs's flags with two dashes, in name order.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	var all []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { all = append(all, f) })
	if len(all) == 0 {
		return
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	fmt.Fprintln(w, "\nFlags:")
	for _, f := range all {
		arg, usage := flag.UnquoteUsage(f)
		for _, s := range settings {
			if s.flag == f.Name {
				arg = s.arg
			}
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			arg = ""
		}
		line := "  --" + f.Name
		if arg != "" {
			line += " " + arg
		}
		fmt.Fprintf(w, "%s\n      %s", line, usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && !strings.Contains(usage, "(default") {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	}
}

// noArgs reports stray positional arguments as an error.
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return nil
}
