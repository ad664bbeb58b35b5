package katibcheck

import (
	"fmt"
	"io"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Image is what a two-stage Dockerfile (a build stage, then the runtime
// image) puts into its final image, as far as a trial depends on it.
type Image struct {
	// BuildBase and RunBase are the two FROM images; BuildStage is the
	// build stage's name (FROM ... AS name).
	BuildBase, BuildStage, RunBase string
	// BuildArgs are the build stage's ARG defaults, BuildRuns its RUN
	// commands (shell form, in order).
	BuildArgs map[string]string
	BuildRuns []string
	// Copies maps each path in the final image to the build-stage path
	// copied there with COPY --from=BuildStage.
	Copies map[string]string
	// Env is the final stage's ENV, Entrypoint its ENTRYPOINT (exec form).
	Env        map[string]string
	Entrypoint []string
}

// ParseDockerfile reads a Dockerfile with BuildKit's own parser and
// returns its final image. It must have exactly two stages, the first
// named, and the second may copy only from the first.
func ParseDockerfile(r io.Reader) (*Image, error) {
	res, err := parser.Parse(r)
	if err != nil {
		return nil, fmt.Errorf("parsing the Dockerfile: %w", err)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, fmt.Errorf("parsing the Dockerfile's instructions: %w", err)
	}
	if len(stages) != 2 {
		return nil, fmt.Errorf("the Dockerfile has %d stages, want 2 (build, then run)", len(stages))
	}
	build, run := stages[0], stages[1]
	if build.Name == "" {
		return nil, fmt.Errorf("the build stage (FROM %s) has no name", build.BaseName)
	}
	img := &Image{BuildBase: build.BaseName, BuildStage: build.Name, RunBase: run.BaseName,
		BuildArgs: map[string]string{}, Copies: map[string]string{}, Env: map[string]string{}}
	for _, cmd := range build.Commands {
		switch c := cmd.(type) {
		case *instructions.ArgCommand:
			for _, a := range c.Args {
				if a.Value != nil {
					img.BuildArgs[a.Key] = *a.Value
				}
			}
		case *instructions.RunCommand:
			if !c.PrependShell {
				return nil, fmt.Errorf("build stage: RUN %v: want the shell form", c.CmdLine)
			}
			img.BuildRuns = append(img.BuildRuns, strings.Join(c.CmdLine, " "))
		}
	}
	for _, cmd := range run.Commands {
		switch c := cmd.(type) {
		case *instructions.CopyCommand:
			if c.From != build.Name {
				return nil, fmt.Errorf("final stage: COPY %v copies from %q, want --from=%s", c.SourcesAndDest, c.From, build.Name)
			}
			if len(c.SourcePaths) != 1 {
				return nil, fmt.Errorf("final stage: COPY %v: want one source", c.SourcesAndDest)
			}
			img.Copies[c.DestPath] = c.SourcePaths[0]
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				img.Env[kv.Key] = kv.Value
			}
		case *instructions.EntrypointCommand:
			if c.PrependShell {
				return nil, fmt.Errorf("final stage: ENTRYPOINT %v: want the exec form", c.CmdLine)
			}
			img.Entrypoint = c.CmdLine
		case *instructions.CmdCommand, *instructions.UserCommand, *instructions.WorkdirCommand:
		default:
			return nil, fmt.Errorf("final stage: %s: only COPY --from, ENV, ENTRYPOINT, CMD, USER and WORKDIR belong in the runtime image", cmd.Name())
		}
	}
	return img, nil
}
