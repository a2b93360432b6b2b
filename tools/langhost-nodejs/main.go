// Command pulumi-language-nodejs is gpushare's minimal stand-in for Pulumi's Node.js language host.
//
// The upstream language host lives in its own Go module that the module proxy reachable from our
// machines does not serve, so tools/toolchain.sh builds this small replacement instead. It implements
// only what `pulumi preview/up/destroy` need: it starts `node @pulumi/pulumi/cmd/run` (resolved from the
// program's own node_modules) with the engine/monitor addresses, project/stack settings and config, and
// reports the resource plugins declared by installed @pulumi/* packages. It also runs Node.js policy packs
// for `--policy-pack` (RunPlugin with kind "analyzer", via @pulumi/pulumi/cmd/run-policy-pack). Everything
// else (other plugin kinds, templates, codegen, packing, dependency installation) is left unimplemented: use
// npm for dependencies.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
)

// version is set with -ldflags "-X main.version=...".
var version = "0.0.0-dev"

// exitCodeBail is what @pulumi/pulumi/cmd/run exits with after it has already reported the error.
const exitCodeBail = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
}

func main() {
	engine := ""
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--tracing" || a == "-tracing":
			i++ // skip its value
		case strings.HasPrefix(a, "-"):
			// -root=..., -v=N, --logtostderr, runtime options passed as flags: not needed here.
		default:
			engine = a
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(s *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(s, &host{engineAddress: engine})
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(1)
	}
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (h *host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *host) GetProgramDependencies(context.Context, *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	return &pulumirpc.GetProgramDependenciesResponse{}, nil
}

func (h *host) About(context.Context, *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node was not found on PATH")
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("node --version: %w", err)
	}
	return &pulumirpc.AboutResponse{Executable: node, Version: strings.TrimSpace(string(out))}, nil
}

func (h *host) InstallDependencies(_ *pulumirpc.InstallDependenciesRequest,
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	return server.Send(&pulumirpc.InstallDependenciesResponse{
		Stdout: []byte("gpushare language host: dependencies are managed with npm; nothing to do\n"),
	})
}

// pulumiPackageJSON is the part of a package.json that declares a Pulumi resource plugin.
type pulumiPackageJSON struct {
	Name   string `json:"name"`
	Pulumi *struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	var pkgs []*pulumirpc.PackageDependency
	seen := map[string]bool{}
	for _, pattern := range []string{"node_modules/*/package.json", "node_modules/@*/*/package.json"} {
		matches, _ := filepath.Glob(filepath.Join(dir, pattern))
		sort.Strings(matches)
		for _, m := range matches {
			data, err := os.ReadFile(m)
			if err != nil {
				continue
			}
			var p pulumiPackageJSON
			if json.Unmarshal(data, &p) != nil || p.Pulumi == nil || !p.Pulumi.Resource {
				continue
			}
			name := p.Pulumi.Name
			if name == "" {
				name = strings.TrimPrefix(p.Name, "@pulumi/")
			}
			key := name + "@" + p.Pulumi.Version
			if name == "" || seen[key] {
				continue
			}
			seen[key] = true
			pkgs = append(pkgs, &pulumirpc.PackageDependency{
				Kind: "resource", Name: name, Version: p.Pulumi.Version, Server: p.Pulumi.Server,
			})
		}
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	programDir := info.GetProgramDirectory()
	if programDir == "" {
		programDir = req.GetPwd()
	}
	entry, opts := entryAndOptions(info)

	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "node was not found on PATH"}, nil
	}
	runScript, err := resolveRunScript(node, programDir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	argv := nodeArgs(opts)
	argv = append(argv, runScript,
		"--monitor="+req.GetMonitorAddress(),
		"--engine="+h.engineAddress,
		"--project="+req.GetProject(),
		"--stack="+req.GetStack(),
		"--pwd="+programDir,
		"--parallel="+strconv.Itoa(int(req.GetParallel())),
	)
	if req.GetOrganization() != "" {
		argv = append(argv, "--organization="+req.GetOrganization())
	}
	if info.GetRootDirectory() != "" {
		argv = append(argv, "--root-directory="+info.GetRootDirectory())
	}
	if req.GetDryRun() {
		argv = append(argv, "--dry-run")
	}
	argv = append(argv, entry)
	argv = append(argv, req.GetArgs()...)

	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secrets, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	typescript := true
	if v, ok := opts["typescript"].(bool); ok {
		typescript = v
	}

	cmd := exec.CommandContext(ctx, node, argv...)
	cmd.Dir = programDir
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secrets),
		"PULUMI_NODEJS_TYPESCRIPT="+strconv.FormatBool(typescript),
	)
	if ts, ok := opts["tsconfig"].(string); ok && ts != "" {
		cmd.Env = append(cmd.Env, "PULUMI_NODEJS_TSCONFIG_PATH="+ts)
	}

	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == exitCodeBail {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
			}, nil
		}
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// RunPlugin runs a Node.js plugin on the engine's behalf and streams its output back. Only policy packs
// (kind "analyzer") are supported: the engine loads PulumiPolicy.yaml, sees `runtime: nodejs`, and asks this
// host to run the pack directory with the engine address as the one plugin argument. The pack is started as
// `node @pulumi/pulumi/cmd/run-policy-pack <engine-address> <pack-dir>`, with @pulumi/pulumi resolved from the
// pack's own directory (its node_modules, or a parent's) and the pack directory as the working directory (so
// the pack's tsconfig.json applies, as with the engine's older pulumi-analyzer-policy shim). The pack serves
// the Analyzer gRPC service and prints its port as the first line of stdout; each stdout/stderr chunk is sent
// as it is read, so the engine reads the port from the stream and dials the pack itself. The last message is
// the exit code. Cancelling the call (the engine closing the plugin) kills node.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	if req.GetKind() != "analyzer" {
		return status.Errorf(codes.Unimplemented,
			"gpushare language host: RunPlugin runs policy packs (kind analyzer) only, not kind %q", req.GetKind())
	}
	info := req.GetInfo()
	dir := info.GetProgramDirectory()
	if dir == "" {
		dir = req.GetProgram() // deprecated field, still the pack directory for older engines
	}
	if dir == "" {
		return status.Error(codes.InvalidArgument, "gpushare language host: RunPlugin without a program directory")
	}
	entry, opts := entryAndOptions(info)

	out := &streamWriter{server: server}
	stdout, stderr := out.writer(false), out.writer(true)

	node, err := exec.LookPath("node")
	if err != nil {
		fmt.Fprintln(stderr, "node was not found on PATH")
		return out.exit(1)
	}
	runScript, err := resolveModule(node, dir, "@pulumi/pulumi/cmd/run-policy-pack")
	if err != nil {
		// The message contains node's "Cannot find module '@pulumi/pulumi/cmd/run-policy-pack'", which the engine
		// turns into "the policy pack's dependencies are not installed; try running npm install".
		fmt.Fprintln(stderr, err.Error())
		return out.exit(1)
	}

	argv := nodeArgs(opts)
	// run-policy-pack parses its arguments with minimist: the engine's Go-style logging flags (--logtostderr,
	// -v=N, --tracing ADDR) would swallow the engine address, so pass the positional arguments only.
	argv = append(argv, runScript)
	argv = append(argv, positionalArgs(req.GetArgs())...)
	argv = append(argv, filepath.Join(dir, entry))

	env := req.GetEnv()
	if len(env) == 0 {
		env = os.Environ()
	}

	cmd := exec.CommandContext(server.Context(), node, argv...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.WaitDelay = 5 * time.Second // output pipes held open by grandchildren must not block the exit code
	err = cmd.Run()
	if ctxErr := server.Context().Err(); ctxErr != nil {
		return status.FromContextError(ctxErr).Err()
	}
	if sendErr := out.err(); sendErr != nil {
		return sendErr
	}
	code := 0
	if err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			fmt.Fprintf(stderr, "running the policy pack: %v\n", err)
			return out.exit(1)
		}
		code = exitErr.ExitCode()
		if code < 0 {
			code = 1 // killed by a signal
		}
	}
	return out.exit(int32(code))
}

// entryAndOptions reads a program's (or policy pack's) entry point, "." when unset, and its runtime options.
func entryAndOptions(info *pulumirpc.ProgramInfo) (string, map[string]interface{}) {
	entry := info.GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	opts := map[string]interface{}{}
	if info.GetOptions() != nil {
		opts = info.GetOptions().AsMap()
	}
	return entry, opts
}

// nodeArgs is the runtime option `nodeargs` split into node's own arguments.
func nodeArgs(opts map[string]interface{}) []string {
	var argv []string
	if nodeargs, ok := opts["nodeargs"].(string); ok && nodeargs != "" {
		argv = append(argv, strings.Fields(nodeargs)...)
	}
	return argv
}

// positionalArgs drops the logging and tracing flags the engine prepends for Go plugins.
func positionalArgs(args []string) []string {
	var res []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--tracing" || a == "-tracing":
			i++ // skip its value
		case strings.HasPrefix(a, "-"):
		default:
			res = append(res, a)
		}
	}
	return res
}

// streamWriter sends a plugin's output to the engine as RunPluginResponse messages, one per chunk read.
// exec copies stdout and stderr from two goroutines; gRPC streams allow one sender at a time.
type streamWriter struct {
	server  grpc.ServerStreamingServer[pulumirpc.RunPluginResponse]
	mu      sync.Mutex
	sendErr error
}

type streamChunkWriter struct {
	s      *streamWriter
	stderr bool
}

func (s *streamWriter) writer(stderr bool) io.Writer { return &streamChunkWriter{s: s, stderr: stderr} }

func (w *streamChunkWriter) Write(p []byte) (int, error) {
	chunk := append([]byte(nil), p...)
	msg := &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: chunk}}
	if w.stderr {
		msg = &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: chunk}}
	}
	if err := w.s.send(msg); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (s *streamWriter) send(msg *pulumirpc.RunPluginResponse) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sendErr != nil {
		return s.sendErr
	}
	s.sendErr = s.server.Send(msg)
	return s.sendErr
}

func (s *streamWriter) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sendErr
}

// exit sends the exit code, the last message of the stream.
func (s *streamWriter) exit(code int32) error {
	return s.send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: code}})
}

// resolveRunScript finds @pulumi/pulumi/cmd/run as the program's own node_modules provide it.
func resolveRunScript(node, programDir string) (string, error) {
	script, err := resolveModule(node, programDir, "@pulumi/pulumi/cmd/run")
	if err != nil {
		return "", fmt.Errorf("%w (run npm install)", err)
	}
	return script, nil
}

// resolveModule resolves a module the way require() does from dir (its node_modules, then the parents').
func resolveModule(node, dir, module string) (string, error) {
	cmd := exec.Command(node, "-e",
		"process.stdout.write(require.resolve(process.argv[2], {paths: [process.argv[1]]}))", dir, module)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.Index(msg, "Cannot find module"); i >= 0 {
			msg = strings.SplitN(msg[i:], "\n", 2)[0]
		}
		return "", fmt.Errorf("could not find %s from %s: %v: %s", module, dir, err, msg)
	}
	return strings.TrimSpace(string(out)), nil
}
