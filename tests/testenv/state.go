package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

const stateDirPrefix = "kudo-testenv-"

// newStateDir makes the directory for everything one run writes (etcd's
// data, keys, the users file) and records our pid in it, so that a later
// run can tell a directory left by a SIGKILLed run from a live one.
func newStateDir() (string, error) {
	dir, err := os.MkdirTemp("", stateDirPrefix)
	if err != nil {
		return "", fmt.Errorf("creating a state directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pid"), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("writing the state directory's pid: %w", err)
	}
	return dir, nil
}

// removeStaleStateDirs removes the state of runs whose process is gone.
func removeStaleStateDirs() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), stateDirPrefix+"*"))
	for _, dir := range matches {
		raw, err := os.ReadFile(filepath.Join(dir, "pid"))
		if err != nil {
			continue // not ours, or still being set up
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil || pid <= 0 {
			continue
		}
		// Signal 0 checks for existence; EPERM means it exists as another user's.
		if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
			os.RemoveAll(dir)
		}
	}
}
