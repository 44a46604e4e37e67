package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMakeBuildStampsVersion: the binary `make build` produces reports
// the checkout's `git describe`, not "dev".
func TestMakeBuildStampsVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	for _, tool := range []string{"make", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: %v", tool, err)
		}
	}
	describe, err := exec.Command("git", "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "projector")
	if out, err := exec.Command("make", "-s", "-C", "../..", "build", "BIN="+bin).CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), "projector "+strings.TrimSpace(string(describe)); got != want {
		t.Errorf("version = %q, want %q", got, want)
	}
}

// TestDockerfileStampsVersion: the image's build stamps the VERSION build
// argument (the context has no .git to describe). No Docker daemon runs
// where the tests do, so this reads the build command.
func TestDockerfileStampsVersion(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	file := strings.ReplaceAll(string(b), "\\\n", " ") // join continued lines
	if !regexp.MustCompile(`(?m)^ARG VERSION=`).MatchString(file) {
		t.Error("the Dockerfile declares no VERSION build argument")
	}
	build := regexp.MustCompile(`(?m)^RUN .*go build .*$`).FindString(file)
	if !strings.Contains(build, "-X github.com/projectorhq/projector/internal/cli.Version=${VERSION}") {
		t.Errorf("the image's go build does not stamp the version:\n%s", build)
	}
}
