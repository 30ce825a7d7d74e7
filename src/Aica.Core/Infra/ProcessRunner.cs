using System.Text;
using CliWrap;
using CliWrap.Buffered;

namespace Aica;

public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr)
{
    public bool Ok => ExitCode == 0;
    public string Brief => (StdErr.Trim().Length > 0 ? StdErr : StdOut).Trim().Split('\n').FirstOrDefault() ?? "";
}

/// <summary>Child processes through CliWrap (useradd, visudo, systemctl, getent, rsync, setpriv, installers); see
/// docs/design.md, "Child processes run as root", for what each may touch.</summary>
public class ProcessRunner
{
    /// <summary>
    /// Every child starts in <c>/</c>, never in the caller's working directory: under sudo that is a folder the member
    /// chose (and can change), and a tool that writes or deletes relative to it (conda's <c>.empty/</c>, an installer's
    /// temporary files) would do so as root there. <c>/</c> is root's and nothing is written there by name.
    /// </summary>
    public const string WorkingDirectory = "/";

    public virtual async Task<ProcessResult> RunAsync(string program, IEnumerable<string> args, CancellationToken ct = default,
        IReadOnlyDictionary<string, string?>? env = null, string? stdin = null)
    {
        // A bare name comes from the standard admin directories, never the caller's PATH: the unit, cron or `env -i`
        // may give none, and root must not run an rsync found first in a directory someone else can write.
        if (!program.Contains('/')) program = Which(program) ?? program;
        var cmd = Cli.Wrap(program).WithArguments(args).WithWorkingDirectory(WorkingDirectory).WithValidation(CommandResultValidation.None);
        if (env is not null) cmd = cmd.WithEnvironmentVariables(env);
        if (stdin is not null) cmd = cmd.WithStandardInputPipe(PipeSource.FromString(stdin));
        try
        {
            var r = await cmd.ExecuteBufferedAsync(Encoding.UTF8, ct).ConfigureAwait(false);
            return new ProcessResult(r.ExitCode, r.StandardOutput, r.StandardError);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new ProcessResult(127, "", $"{program}: {e.Message}");
        }
    }

    /// <summary>
    /// Like <see cref="RunAsync"/>, but each line of the child's stdout is handed to <paramref name="onLine"/> as it
    /// arrives (rsync's file list: progress while it runs, not a buffer at the end); stdout is also kept.
    /// </summary>
    public virtual async Task<ProcessResult> RunStreamingAsync(string program, IEnumerable<string> args, Action<string> onLine,
        CancellationToken ct = default, IReadOnlyDictionary<string, string?>? env = null)
    {
        if (!program.Contains('/')) program = Which(program) ?? program;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var cmd = Cli.Wrap(program).WithArguments(args).WithWorkingDirectory(WorkingDirectory).WithValidation(CommandResultValidation.None)
            .WithStandardOutputPipe(PipeTarget.ToDelegate(line => { stdout.Append(line).Append('\n'); onLine(line); }, Encoding.UTF8))
            .WithStandardErrorPipe(PipeTarget.ToStringBuilder(stderr, Encoding.UTF8));
        if (env is not null) cmd = cmd.WithEnvironmentVariables(env);
        try
        {
            var r = await cmd.ExecuteAsync(ct).ConfigureAwait(false);
            return new ProcessResult(r.ExitCode, stdout.ToString(), stderr.ToString());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new ProcessResult(127, "", $"{program}: {e.Message}");
        }
    }

    public ProcessResult Run(string program, params string[] args) => RunAsync(program, args).GetAwaiter().GetResult();

    /// <summary>Full path of a program on the standard admin PATH, or null.</summary>
    public virtual string? Which(string program)
    {
        foreach (var dir in new[] { "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin" })
        {
            var p = Path.Combine(dir, program);
            if (File.Exists(p)) return p;
        }
        return null;
    }
}
