using System.Text;
using Aica.Engine;
using Aica.Native;
using static Aica.Native.Flags;
using static Aica.Native.Perms;

namespace Aica.Site;

/// <summary>
/// A Debian PAM session stack (<c>/etc/pam.d/common-session*</c>) that holds the session lines of aica's pam-auth-update
/// profile. Apply runs <c>pam-auth-update --enable</c>, the tool Debian expects to change these files: deleted lines come
/// back, the admin's lines outside its block stay; a stack it refuses (a line edited inside its block) is never forced,
/// only reported with the lines to add.
/// </summary>
public sealed class PamStackItem(string path, string profile, IReadOnlyList<string> lines, string id = "session.umask") : Item
{
    public override string Id => id;
    public override string Subject => path;
    public override string Describe => $"{path} runs aica's PAM session lines (pam-auth-update profile {profile})";

    private static string Normal(string line) => string.Join(' ', line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries));

    public override Drift? Check(EngineContext ctx)
    {
        var text = ctx.Fs.ReadText(path);
        if (text is null) return new Drift($"{path} is missing", $"aica recover (runs pam-auth-update --enable {profile})");
        var have = text.Split('\n').Select(Normal).ToHashSet(StringComparer.Ordinal);
        var missing = lines.Where(l => !have.Contains(Normal(l))).ToList();
        return missing.Count == 0 ? null
            : new Drift($"{path} lacks {missing.Count} of aica's session lines (umask 002 for members, shared variables): {string.Join("; ", missing)}",
                $"aica recover (runs pam-auth-update --enable {profile})");
    }

    public override async Task Apply(EngineContext ctx, Drift drift, CancellationToken ct)
    {
        var args = new List<string>();
        if (!ctx.Fs.IsRealRoot) { args.Add("--root"); args.Add(ctx.Fs.Root); }
        args.AddRange(["--package", "--enable", profile]);
        var r = await ctx.Runner.RunAsync("pam-auth-update", args, ct,
            new Dictionary<string, string?> { ["DEBIAN_FRONTEND"] = "noninteractive" }).ConfigureAwait(false);
        if (!r.Ok) throw new AicaException($"pam-auth-update --enable {profile} exited {r.ExitCode}: {r.Brief}");
        if (Check(ctx) is { } still)
            throw new AicaException($"{still.Summary} after pam-auth-update ({r.Brief.Trim()}); a hand-edited stack is not rewritten: " +
                $"add the lines of {PamProfileHint} by hand or run pam-auth-update --force --enable {profile}");
    }

    private string PamProfileHint => $"{Templates.PamConfigsDir}/{profile}";
}
