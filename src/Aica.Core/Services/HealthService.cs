using System.Diagnostics;
using Aica.Engine;

using Aica.Site;

namespace Aica.Services;

/// <summary>The outcome of one node health check: the one line Slurm or NHC shows, and what was done to the node.</summary>
public sealed record HealthResult(bool Healthy, string Line, string Node, string Action, int UserProblems)
{
    public int ExitCode => Healthy ? ExitCodes.Ok : ExitCodes.Failed;
}

/// <summary>
/// A node health check for Slurm's HealthCheckProgram or LBNL NHC: doctor's node-wide checks under a hard deadline.
/// A FAIL drains the node with a reason that starts with <see cref="ReasonPrefix"/>; a healthy run resumes the node only
/// when its drain reason starts with that prefix, so an operator's own drain is never undone nor overwritten.
/// A problem of one user's setup (area user or home) is reported but never drains a node every user shares.
/// </summary>
public sealed class HealthService(AicaServices s, Func<DoctorReport> checks)
{
    public const string ReasonPrefix = "aica:";

    /// <summary>Slurm keeps the reason short in its listings (sinfo -R): longer ones are cut with an ellipsis.</summary>
    public const int MaxReason = 120;

    public HealthResult Run(string node, TimeSpan deadline, bool drain)
    {
        var clock = Stopwatch.StartNew();
        // The checks get most of the deadline; the rest is for scontrol. A hung /data (NFS server gone) leaves the
        // check thread blocked: the verdict is given anyway and the process exits (hard NFS mounts are killable).
        var work = Task.Factory.StartNew(checks, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var checksBudget = TimeSpan.FromTicks((long)(deadline.Ticks * 0.7));
        string? failure;
        var userProblems = 0;
        var count = 0;
        if (!work.Wait(checksBudget))
            failure = $"checks did not finish in {checksBudget.TotalSeconds:0.#}s (a hung /data mount?)";
        else if (work.IsFaulted)
            failure = $"checks could not run: {work.Exception!.InnerException?.Message}";
        else
        {
            var report = work.Result;
            count = report.Checks.Count;
            var fails = report.Checks.Where(c => c.Status == CheckStatus.Fail).ToList();
            var nodeFails = fails.Where(c => !IsOneUsers(c.Id)).ToList();
            userProblems = fails.Count - nodeFails.Count;
            failure = nodeFails.Count == 0 ? null
                : $"{nodeFails[0].Id}: {nodeFails[0].Summary}" + (nodeFails.Count > 1 ? $" (+{nodeFails.Count - 1} more)" : "");
        }

        var line = failure is null
            ? $"ok: {count} checks, no node-wide FAIL" + (userProblems > 0 ? $"; {userProblems} user problem(s) (aica doctor)" : "")
            : Reason(failure);
        var left = deadline - clock.Elapsed;
        var action = !drain ? "not changed (--no-drain)" : Slurm(node, failure is null ? null : line, left > TimeSpan.FromSeconds(0.5) ? left : TimeSpan.FromSeconds(0.5));
        return new HealthResult(failure is null, line, node, action, userProblems);
    }

    /// <summary>One line that starts with the prefix, no control characters, at most <see cref="MaxReason"/> characters.</summary>
    public static string Reason(string what)
    {
        var flat = new string(what.Select(ch => char.IsControl(ch) ? ' ' : ch).ToArray());
        var r = $"{ReasonPrefix} {flat}";
        return r.Length <= MaxReason ? r : r[..(MaxReason - 3)] + "...";
    }

    /// <summary>A check about one user's account or home: reported, never a reason to drain the node.</summary>
    public static bool IsOneUsers(string checkId) => DoctorReport.Area(checkId) is "user" or "home";

    /// <summary>Drains (reason given) or resumes (null) the node through scontrol, leaving any drain not made by aica alone.</summary>
    private string Slurm(string node, string? reason, TimeSpan budget)
    {
        if (s.Runner.Which("scontrol") is not { } scontrol) return "scontrol not found: node state not changed";
        using var cts = new CancellationTokenSource(budget);
        ProcessResult Scontrol(params string[] args)
        {
            try { return s.Runner.RunAsync(scontrol, args, cts.Token).GetAwaiter().GetResult(); }
            catch (OperationCanceledException) { return new ProcessResult(124, "", $"scontrol {args[0]} timed out"); }
        }
        var show = Scontrol("show", "node", node);
        if (!show.Ok) return $"scontrol show node {node} failed: {show.Brief}";
        var (state, current) = ParseNode(show.StdOut);
        var drained = state.Contains("DRAIN", StringComparison.Ordinal);
        var ours = current is not null && current.StartsWith(ReasonPrefix, StringComparison.Ordinal);
        if (reason is null)
        {
            if (!drained) return $"{node} not drained: nothing to resume";
            if (!ours) return $"{node} left drained: its reason is not aica's ({current ?? "none"})";
            var resume = Scontrol("update", $"nodename={node}", "state=resume");
            return resume.Ok ? $"resumed {node} (aica had drained it)" : $"scontrol update state=resume failed: {resume.Brief}";
        }
        if (drained && !ours) return $"{node} already drained by someone else ({current ?? "no reason"}): reason kept";
        if (drained && current!.StartsWith(reason, StringComparison.Ordinal)) return $"{node} already drained for this reason";
        var update = Scontrol("update", $"nodename={node}", "state=drain", $"reason={reason}");
        return update.Ok ? $"drained {node}" : $"scontrol update state=drain failed: {update.Brief}";
    }

    /// <summary>State= and Reason= of <c>scontrol show node</c> (Reason runs to the end of its line and ends with " [user@time]").</summary>
    public static (string State, string? Reason) ParseNode(string text)
    {
        string state = "", reason = "";
        var hasReason = false;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("Reason=", StringComparison.Ordinal)) { reason = line[7..]; hasReason = true; continue; }
            foreach (var field in line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                if (field.StartsWith("State=", StringComparison.Ordinal)) state = field[6..];
        }
        return (state, hasReason && reason.Length > 0 && reason != "(null)" ? reason : null);
    }
}
