using Aica.Config;
using Aica.Native;

namespace Aica.Site;

/// <summary>How one channel (the notify command, the mail) fared.</summary>
public sealed record NotifyOutcome(string Channel, bool Ok, string Message);

/// <summary>
/// Tells people about an alert or a failed unit: <c>disk.notify</c> (a shell command, the text on stdin, AICA_EVENT,
/// AICA_HOST, AICA_SUBJECT in its environment) and <c>disk.mail</c> (<c>sendmail -t</c>). Each channel is bounded by
/// <c>disk.notify_timeout</c> and killed after it (with its children); a failure or a timeout is reported and logged,
/// never thrown: what raised the alert has already logged it.
/// </summary>
public sealed class Notifier(AicaServices s)
{
    /// <param name="event">What happened, for AICA_EVENT: disk-alert, unit-failed.</param>
    /// <param name="subject">One line (the mail's subject).</param>
    /// <param name="body">The full text (stdin of the command, the mail's body).</param>
    public IReadOnlyList<NotifyOutcome> Send(AicaConfig c, string @event, string subject, string body, CancellationToken ct = default)
    {
        var outcomes = new List<NotifyOutcome>();
        var timeout = TimeSpan.FromSeconds(c.DiskNotifyTimeout);
        var env = new Dictionary<string, string?> { ["AICA_EVENT"] = @event, ["AICA_HOST"] = Sys.HostName(), ["AICA_SUBJECT"] = subject };
        if (c.DiskNotify.Length > 0)
            outcomes.Add(Run("disk.notify", "/bin/sh", ["-c", c.DiskNotify], env, body, timeout, ct));
        if (c.DiskMail.Length > 0)
        {
            if (s.Runner.Which("sendmail") is not { } sendmail)
                outcomes.Add(new NotifyOutcome("disk.mail", false, $"no sendmail installed: {c.DiskMail} was not mailed (install a mail transfer agent, e.g. apt install msmtp-mta)"));
            else
                outcomes.Add(Run("disk.mail", sendmail, ["-t", "-oi"], env, Mail(c.DiskMail, subject, body), timeout, ct));
        }
        foreach (var o in outcomes.Where(o => !o.Ok)) s.Log("notify", $"{o.Channel}: {o.Message}");
        return outcomes;
    }

    /// <summary>
    /// <c>aica notify --failed-unit UNIT</c> (a systemd <c>OnFailure=</c> unit runs it): "UNIT failed on HOST" to the
    /// persistent log and through the channels. The config is read leniently: a typo in aica.toml must not silence it.
    /// </summary>
    public (string Message, IReadOnlyList<NotifyOutcome> Outcomes) FailedUnit(string unit, CancellationToken ct = default)
    {
        if (unit.Length is 0 or > 256 || !unit.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '@' or '.' or '_' or '-' or ':' or '\\'))
            throw AicaException.Usage($"--failed-unit needs a systemd unit name, not '{Names.Printable(unit)}'");
        var message = $"{unit} failed on {Sys.HostName()}";
        s.Log("notify", message);
        var body = $"{message} at {s.Clock.LogTime()}.\nSee: journalctl -u {unit}\n";
        return (message, Send(s.ReadConfig().Config, "unit-failed", message, body, ct));
    }

    /// <summary>The mail as sendmail -t reads it: the recipient and subject in the headers (both one line, checked by config).</summary>
    public static string Mail(string to, string subject, string body) =>
        $"To: {to}\nSubject: [aica] {subject.ReplaceLineEndings(" ")}\nContent-Type: text/plain; charset=utf-8\n\n{body}\n";

    private NotifyOutcome Run(string channel, string program, string[] args, Dictionary<string, string?> env, string stdin, TimeSpan timeout, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            // CliWrap kills the child and its descendants when the token fires (a hanging mail relay, a stuck curl).
            var r = s.Runner.RunAsync(program, args, limit.Token, env, stdin).GetAwaiter().GetResult();
            return r.Ok ? new NotifyOutcome(channel, true, "sent")
                : new NotifyOutcome(channel, false, $"exit {r.ExitCode}{(r.Brief.Length > 0 ? $": {r.Brief}" : "")}");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new NotifyOutcome(channel, false, $"timed out after {timeout.TotalSeconds:0.###} s (disk.notify_timeout) and was killed");
        }
    }
}
