using System.Diagnostics;

namespace Aica.Tests.Infra;

public sealed record RunResult(int ExitCode, string StdOut, string StdErr)
{
    public string All => StdOut + StdErr;
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StdOut}\n--- stderr\n{StdErr}";
}

/// <summary>Locates the built binary and runs child processes for black-box and end-to-end tests.</summary>
public static class Tools
{
    public static string RepoRoot
    {
        get
        {
            var d = new DirectoryInfo(AppContext.BaseDirectory);
            while (d is not null && !File.Exists(Path.Combine(d.FullName, "aica.sln"))) d = d.Parent;
            return d?.FullName ?? throw new InvalidOperationException("repo root not found");
        }
    }

    /// <summary>dist/aica (make builds it before make test), or AICA_BIN.</summary>
    public static string AicaBin
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("AICA_BIN");
            var p = string.IsNullOrEmpty(env) ? Path.Combine(RepoRoot, "dist", "aica") : env;
            if (!File.Exists(p)) throw new InvalidOperationException($"{p} not found: run make first");
            return p;
        }
    }

    public static bool IsRoot => Native.Sys.Euid == 0;

    /// <summary>Runs a program to completion with a timeout (a hung child fails the test instead of hanging it).</summary>
    public static RunResult Run(string file, IEnumerable<string> args, IDictionary<string, string>? env = null, string? stdin = null, int timeoutSeconds = 120)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("AICA_ROOT");
        // make test run through sudo must not make every child look sudo-invoked; specs that need it pass SUDO_UID.
        psi.Environment.Remove("SUDO_UID");
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        if (stdin is not null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        try { p.WaitForExitAsync(cts.Token).GetAwaiter().GetResult(); }
        catch (OperationCanceledException)
        {
            try { p.Kill(true); } catch (InvalidOperationException) { }
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeoutSeconds}s");
        }
        return new RunResult(p.ExitCode, so.GetAwaiter().GetResult(), se.GetAwaiter().GetResult());
    }

    public static RunResult Sh(string script, IDictionary<string, string>? env = null, int timeoutSeconds = 120) =>
        Run("/bin/bash", ["-c", script], env, null, timeoutSeconds);

    public static RunResult Aica(params string[] args) => Run(AicaBin, args);
}
