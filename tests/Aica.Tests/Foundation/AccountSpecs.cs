using Aica.Accounts;

namespace Aica.Tests.Foundation;

[Trait("level", "unit")]
public sealed class AccountSpecs
{
    [Fact]
    public void Passwd_and_group_are_parsed_as_text()
    {
        var db = new AccountDb("root:x:0:0:root:/root:/bin/bash\nbad line\nalice:x:3001:3001::/home/alice:/bin/zsh\n",
            "root:x:0:\ngpu-users:x:2000:alice,bob\nalice:x:3001:\nbob:x:3002:\n");
        Assert.Equal(3001, db.User("alice")!.Uid);
        Assert.Equal("/bin/zsh", db.User("alice")!.Shell);
        Assert.Null(db.User("nobody-here"));
        Assert.Equal(2000, db.Group("gpu-users")!.Gid);
        Assert.True(db.IsMember("alice", "gpu-users"));
        Assert.True(db.IsMember("alice", "alice")); // primary group
        Assert.Equal(["alice", "bob"], db.MembersOf("gpu-users").Order());
    }

    [Fact]
    public void Misses_go_to_the_getent_fallback_and_are_cached()
    {
        var calls = 0;
        var db = new AccountDb("", "", (dbName, key) => { calls++; return key == "ldapuser" && dbName == "passwd" ? "ldapuser:*:5000:5000::/home/ldapuser:/bin/bash" : null; });
        Assert.Equal(5000, db.User("ldapuser")!.Uid);
        Assert.Equal(5000, db.User("ldapuser")!.Uid);
        Assert.Null(db.User("ghost"));
        Assert.Equal(2, calls);
    }

    /// <summary>SPEC §6.8: a static glibc crashes when NSS loads a module; keep the sources free of in-process lookups.</summary>
    [Fact]
    public void Sources_make_no_in_process_NSS_lookups()
    {
        var src = Path.Combine(Infra.Tools.RepoRoot, "src");
        var forbidden = new System.Text.RegularExpressions.Regex(@"\b(getpwnam|getpwuid|getgrnam|getgrgid|getgrouplist|getpwent|getgrent)(_r)?\b|Environment\.UserName|Environment\.UserDomainName");
        var hits = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/") && !f.Contains("/bin/"))
            .SelectMany(f => File.ReadLines(f).Select((l, i) => (f, i, l)))
            .Where(x => !x.l.TrimStart().StartsWith("//") && forbidden.IsMatch(x.l))
            .Select(x => $"{x.f}:{x.i + 1}: {x.l.Trim()}").ToList();
        Assert.True(hits.Count == 0, string.Join("\n", hits));
    }
}
