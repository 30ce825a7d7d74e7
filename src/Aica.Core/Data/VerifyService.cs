using System.Text;
using Aica.Config;
using Aica.IO;
using Aica.Native;
using Aica.Site;
using static Aica.Native.Flags;

namespace Aica.Data;

/// <summary>Whether one member can traverse and read one dataset, as the kernel decided it.</summary>
public sealed record AccessResult(string User, string Dataset, bool Ok, string? Blocking, IReadOnlyList<string> Unreadable, string? Error)
{
    public string Summary => Ok ? "can read it all"
        : Error is not null ? Error
        : Blocking is not null ? $"blocked at {Blocking}"
        : $"cannot read {Unreadable.Count}{(Unreadable.Count >= VerifyService.MaxListed ? "+" : "")} entr{(Unreadable.Count == 1 ? "y" : "ies")}, first {Unreadable[0]}";
}

/// <summary>
/// aica data verify: for each member (or one) and each dataset, a child process running as that user
/// (<c>setpriv --reuid --regid --init-groups</c>) tests every component of the path and walks the dataset with
/// <c>find -readable</c>: the kernel's answer, not a guess from mode bits. Failures name the blocking path.
/// </summary>
public sealed class VerifyService(AicaServices s)
{
    public const int MaxListed = 20;

    // Args: dataset paths (xargs gives as many as fit in one command line, then starts the probe again). For each it
    // tests every component from / down to the dataset, and prints B<component> when one cannot be traversed (or the
    // dataset read), U<path> for each entry inside that cannot be read (at most MaxListed), E after each dataset;
    // all NUL-terminated.
    private const string Probe = """
        for d in "$@"; do
          blocked=; rest=${d#/}; c=
          if [ ! -x / ]; then blocked=/; fi
          while [ -z "$blocked" ] && [ -n "$rest" ]; do
            case $rest in */*) part=${rest%%/*}; rest=${rest#*/} ;; *) part=$rest; rest= ;; esac
            c=$c/$part
            if [ ! -x "$c" ] || { [ -z "$rest" ] && [ ! -r "$c" ]; }; then blocked=$c; fi
          done
          if [ -n "$blocked" ]; then printf 'B%s\0' "$blocked"
          else find "$d" -mindepth 1 \( -type d \( ! -readable -o ! -executable \) -printf 'U%p\0' -prune \) -o \( -type f ! -readable -printf 'U%p\0' \) 2>/dev/null | head -z -n MAX
          fi
          printf 'E\0'
        done
        """;

    public async Task<IReadOnlyList<AccessResult>> Run(string? onlyUser, CancellationToken ct = default)
    {
        if (onlyUser is not null && Names.ValidateUser(onlyUser) is { } bad) throw AicaException.Usage(bad);
        var config = s.LoadConfig();
        s.RequireRoot("data verify");
        s.RequireDataMounted();
        var registry = s.Registry.Load();
        var db = s.Accounts.Load();
        var gid = SharedTree.RequireGid(config, db);

        var users = new List<(string Name, int Uid, int Gid)>();
        foreach (var e in registry.Users)
        {
            if (onlyUser is not null && e.Name != onlyUser) continue;
            var live = db.User(e.Name);
            if ((e.Uid ?? live?.Uid) is { } uid) users.Add((e.Name, uid, e.Gid ?? live?.Gid ?? (int)gid));
        }
        if (onlyUser is not null && users.Count == 0)
        {
            if (db.User(onlyUser) is { } acct) users.Add((acct.Name, acct.Uid, acct.Gid));
            else throw AicaException.Usage($"{onlyUser} is neither registered nor an account");
        }

        var datasets = ListDatasets(config.Datasets);
        var setpriv = s.Runner.Which("setpriv") ?? throw new AicaException("setpriv not found (install util-linux): the check runs as each user");
        var results = new List<AccessResult>();
        using var phase = s.Progress.Phase("data verify", users.Count, "users");
        foreach (var u in users)
        {
            s.Progress.Note(u.Name);
            results.AddRange(await CheckUser(setpriv, u, gid, db, datasets, ct).ConfigureAwait(false));
            s.Progress.Advance();
        }
        return results;
    }

    private List<(string Display, string? Host)> ListDatasets(string root)
    {
        var list = new List<(string, string?)>();
        using var top = s.Fs.TryOpenDir(root, out _);
        if (top is null) return list;
        var strict = new UTF8Encoding(false, true);
        foreach (var (name, _, _) in Sys.ReadDir(top, root).OrderBy(e => e.Name, ByteOrder.Instance))
        {
            if (Sys.LstatAt(top.Fd, Sys.Z(name), root) is not { IsDir: true }) continue;
            string? host;
            try { host = s.Fs.Host($"{root}/{strict.GetString(name)}"); }
            catch (DecoderFallbackException) { host = null; } // cannot be passed to a child as an argument
            list.Add((SafeOps.Escape(name), host));
        }
        return list;
    }

    private async Task<IEnumerable<AccessResult>> CheckUser(string setpriv, (string Name, int Uid, int Gid) u, uint shared,
        Accounts.AccountDb db, List<(string Display, string? Host)> datasets, CancellationToken ct)
    {
        var args = new List<string> { $"--reuid={u.Uid}", $"--regid={u.Gid}" };
        if (s.Fs.IsRealRoot) args.Add("--init-groups");
        else
        {
            // Under --root the accounts live in the sandbox's /etc: give the groups from there.
            var groups = db.Groups.Where(g => g.Members.Contains(u.Name)).Select(g => g.Gid).Append(u.Gid).Distinct();
            args.Add($"--groups={string.Join(',', groups)}");
        }
        // The paths go on stdin, NUL-separated, and xargs splits them into command lines that fit: 9,000 long dataset
        // names as arguments of one child hit E2BIG and every check failed (SPEC §6.10). The names are UTF-8 (checked above).
        var xargs = s.Runner.Which("xargs") ?? throw new AicaException("xargs not found (install findutils): the check runs as each user");
        args.AddRange(["--", xargs, "-0", "/bin/sh", "-c", Probe.Replace("MAX", MaxListed.ToString()), "sh"]);
        var checkable = datasets.Where(d => d.Host is not null).ToList();
        var stdin = new StringBuilder();
        foreach (var d in checkable) stdin.Append(d.Host).Append('\0');
        var results = new List<AccessResult>();
        foreach (var d in datasets.Where(d => d.Host is null))
            results.Add(new AccessResult(u.Name, d.Display, false, null, [], "the name is not valid UTF-8: it cannot be checked as the user (rename it)"));
        if (checkable.Count == 0) return results;

        var r = await s.Runner.RunAsync(setpriv, args, ct, stdin: stdin.ToString()).ConfigureAwait(false);
        var records = r.StdOut.Split('\0');
        var idx = 0;
        foreach (var d in checkable)
        {
            string? blocking = null;
            var unreadable = new List<string>();
            var complete = false;
            for (; idx < records.Length; idx++)
            {
                var rec = records[idx];
                if (rec == "E") { idx++; complete = true; break; }
                if (rec.StartsWith('B')) blocking = Inside(rec[1..]);
                else if (rec.StartsWith('U')) unreadable.Add(Inside(rec[1..]));
            }
            if (!complete)
                results.Add(new AccessResult(u.Name, d.Display, false, null, [], $"the check as {u.Name} failed: {(r.Ok ? "no answer" : r.Brief)}"));
            else
                results.Add(new AccessResult(u.Name, d.Display, blocking is null && unreadable.Count == 0, blocking, unreadable, null));
        }
        return results;
    }

    /// <summary>A host path as seen inside --root, escaped for display.</summary>
    private string Inside(string host)
    {
        var p = !s.Fs.IsRealRoot && host.StartsWith(s.Fs.Root + "/", StringComparison.Ordinal) ? host[s.Fs.Root.Length..] : host;
        return SafeOps.Escape(Encoding.UTF8.GetBytes(p));
    }
}
