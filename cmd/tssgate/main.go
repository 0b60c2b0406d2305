// Command tssgate is a callback server for Cobo MPC TSS Nodes: it
// authenticates the node, decodes each key-task request, decides it against
// the organisation's policy and answers with a signed APPROVE or REJECT,
// never approving when unsure.
//
// Usage:
//
//	tssgate serve     [flags]   answer TSS Node callbacks (v1 and v2)
//	tssgate keygen    [flags]   write the callback server's RSA key pair
//	tssgate simulate  [flags]   act as a TSS Node against a running tssgate
//	tssgate policy check FILE   validate a policy file
//	tssgate policy test FILE TESTS.yaml   run policy-as-code tests
//	tssgate policy manifest|sign|verify FILE   M-of-N signatures of a policy
//	tssgate governance manifest|sign|verify --governance CURRENT FILE   the same for a governance change
//	tssgate policy replay CANDIDATE.yaml  re-decide recorded decisions under a candidate
//	tssgate audit ...           read the decision log
//	tssgate freeze --reason T   stop all signing at once (unfreeze lifts it)
//	tssgate version             print the version, VCS revision and crypto build
//
// Every command and subcommand answers --help and -h with its own usage.
// Configuration is one table of settings (config.go) read by one loader:
// defaults, the YAML file, TSSGATE_* variables, flags, validated once. Only
// this package wires the internal packages together.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"tssgate/internal/token"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `tssgate: a fail-closed callback server for Cobo MPC TSS Nodes.

Usage:
  tssgate serve     [flags]   answer TSS Node callbacks on /v1/check and /v2/check
  tssgate keygen    [flags]   write the callback server's RSA key pair
  tssgate simulate  [flags]   act as a TSS Node: sign a request, send it, verify the reply
  tssgate policy check FILE   validate a policy file and print its summary
  tssgate policy test FILE TESTS.yaml
                              run policy-as-code tests against a policy
  tssgate policy manifest|sign|verify FILE
                              what approvers sign, add a signature, check the quorum
  tssgate governance manifest|sign|verify --governance CURRENT FILE
                              the same for a change of the governance file
  tssgate policy replay CANDIDATE.yaml [--since T] [--until T] [--type T] [--json]
                              re-decide recorded decisions under a candidate policy
  tssgate audit list|show|export|verify|limits
                              read the decision log
  tssgate freeze --reason TEXT | --list
                              stop all signing at once, on every replica
  tssgate unfreeze --id ID [--key FILE | --import SIG]
                              lift a freeze (with governance: approver signatures)
  tssgate version             print the version, VCS revision and crypto build

Run 'tssgate COMMAND --help' for a command's flags.
`

// run is main without the process: it returns the exit code, so tests can
// drive every command in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "keygen":
		return runKeygen(rest, stdout, stderr)
	case "simulate":
		return runSimulate(ctx, rest, stdout, stderr)
	case "policy":
		if len(rest) > 0 && rest[0] == "replay" {
			return runPolicyReplay(ctx, rest[1:], stdout, stderr)
		}
		return runPolicy(rest, stdout, stderr)
	case "audit":
		return runAudit(ctx, rest, stdout, stderr)
	case "freeze":
		return runFreeze(ctx, rest, stdout, stderr)
	case "unfreeze":
		return runUnfreeze(ctx, rest, stdout, stderr)
	case "governance":
		return runGovernance(rest, stdout, stderr)
	case "version", "--version", "-version":
		fs := newFlagSet("version")
		if code, done := parseFlags(fs, rest, versionUsage, stdout, stderr); done {
			return code
		}
		if err := noArgs(fs); err != nil {
			fmt.Fprintf(stderr, "version: %v\n", err)
			return 2
		}
		bi, _ := debug.ReadBuildInfo()
		fmt.Fprintln(stdout, versionString(version, bi, token.CryptoBackend()))
		return 0
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "tssgate: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

const versionUsage = `Usage: tssgate version

Prints the version stamped at build time (-ldflags "-X main.version=..."),
the VCS revision recorded in the build info (go build -buildvcs=true), the
Go version and the implementation behind RSA: "Go standard library" in the
default build, "BoringCrypto" in the fast-crypto build (GOEXPERIMENT=boringcrypto).
`

// versionString formats the stamped version with the VCS revision, its
// time and whether the tree was modified, from bi (nil when unavailable),
// and the implementation behind crypto/rsa (token.CryptoBackend), so the
// default and the fast-crypto build tell themselves apart. A binary built
// without VCS information says so rather than print nothing.
func versionString(stamped string, bi *debug.BuildInfo, crypto string) string {
	goVersion, rev, when, dirty := "unknown", "", "", ""
	if bi != nil {
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = " " + s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = " (modified)"
				}
			}
		}
	}
	if rev == "" {
		return fmt.Sprintf("tssgate %s, revision unknown (built without VCS information: build with -buildvcs=true), %s, crypto %s", stamped, goVersion, crypto)
	}
	return fmt.Sprintf("tssgate %s, revision %s%s%s, %s, crypto %s", stamped, rev, when, dirty, goVersion, crypto)
}
