using System.Reflection;

namespace Aica.Tests.Infra;

/// <summary>
/// Every test names its level, so a quick inner loop can pick the cheap ones: <c>unit</c> (logic and libc calls in
/// process), <c>inproc</c> (commands run in process), <c>blackbox</c> (dist/aica as a child), <c>sim</c> (a simulated
/// server in mount namespaces), <c>boot</c> (a real systemd boot). <c>make test-quick</c> runs the first three.
/// </summary>
[Trait("level", "unit")]
public sealed class LevelSpecs
{
    private static readonly string[] Levels = ["unit", "inproc", "blackbox", "sim", "boot"];

    [Fact]
    public void Every_test_has_exactly_one_known_level()
    {
        var wrong = new List<string>();
        foreach (var type in typeof(LevelSpecs).Assembly.GetTypes())
            foreach (var m in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                if (m.GetCustomAttribute<FactAttribute>() is null) continue;
                var levels = type.GetCustomAttributes<TraitAttribute>().Concat(m.GetCustomAttributes<TraitAttribute>())
                    .Where(t => t.Name == "level").Select(t => t.Value).ToList();
                if (levels.Count != 1 || !Levels.Contains(levels[0]))
                    wrong.Add($"{type.Name}.{m.Name}: [{string.Join(", ", levels)}]");
            }
        Assert.True(wrong.Count == 0, "tests without exactly one level trait (unit|inproc|blackbox|sim|boot):\n" + string.Join("\n", wrong));
    }
}
