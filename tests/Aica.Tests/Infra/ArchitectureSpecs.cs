using System.Reflection;
using Mono.Cecil;
using Mono.Cecil.Cil;
using NetArchTest.Rules;

namespace Aica.Tests.Infra;

/// <summary>
/// The layers of Aica.Core hold (docs/design.md, Part II): Native (libc only) &lt;- IO &lt;- Engine &lt;- features &lt;-
/// Services. Infra (namespace <c>Aica</c>: AicaException, Clock, ProcessRunner) sits beside IO. Among the features,
/// Config &lt;- Accounts &lt;- Site (the composition root AicaServices, the whole server's desired state and templates, the
/// home-layout contract) &lt;- Users, Data, Caches, Integration, which never use each other's way round a cycle. The rules read the compiled IL (signatures and method bodies), so a use hidden in a
/// method body counts too. Each rule is a function of an assembly and a namespace root, so the fixtures at the end of
/// this file can prove it fails.
/// </summary>
[Trait("level", "unit")]
public sealed class ArchitectureSpecs
{
    private const string Core = "Aica";
    private static readonly Assembly CoreAssembly = typeof(AicaException).Assembly;
    private static readonly string[] Features = ["Users", "Data", "Caches", "Integration", "Fleet", "Accounts", "Config", "Site", "Services"];

    /// <summary>Each layer's rank: a namespace uses only its own rank or lower ones (same rank: no cycle, see above).</summary>
    private static readonly Dictionary<string, int> Rank = new()
    {
        ["Native"] = 0, ["Infra"] = 1, ["IO"] = 1, ["Contracts"] = 1, ["Engine"] = 2, ["Config"] = 3, ["Accounts"] = 4, ["Site"] = 5,
        ["Users"] = 6, ["Data"] = 6, ["Caches"] = 6, ["Integration"] = 6, ["Fleet"] = 6, ["Services"] = 7,
    };
    private static readonly string[] Lower = ["Engine", "IO", "Infra", "Native"];

    [Fact]
    public void Core_namespaces_have_no_cycle()
    {
        var cycles = NamespaceGraph.Of(CoreAssembly, Core).Cycles();
        Assert.True(cycles.Count == 0, "namespace cycles in Aica.Core:\n" + string.Join("\n", cycles));
    }

    [Fact]
    public void Engine_IO_Infra_and_Native_use_no_feature_namespace()
    {
        var wrong = NamespaceGraph.Of(CoreAssembly, Core).UsesOf(Lower, Features);
        Assert.True(wrong.Count == 0, "lower layers using a feature namespace:\n" + string.Join("\n", wrong));
    }

    [Fact]
    public void Engine_IO_and_Native_use_no_feature_namespace_by_NetArchTest()
    {
        // A second reader of the same rule (NetArchTest's own dependency search), so a gap in NamespaceGraph shows.
        foreach (var lower in new[] { "Aica.Engine", "Aica.IO", "Aica.Native" })
        {
            var result = Types.InAssembly(CoreAssembly).That().ResideInNamespace(lower)
                .ShouldNot().HaveDependencyOnAny(Features.Select(f => $"{Core}.{f}").ToArray()).GetResult();
            Assert.True(result.IsSuccessful, $"{lower} uses a feature namespace: " + string.Join(", ", result.FailingTypeNames ?? []));
        }
    }

    [Fact]
    public void Every_namespace_has_a_rank_and_uses_no_higher_one()
    {
        var graph = NamespaceGraph.Of(CoreAssembly, Core);
        Assert.Empty(graph.Layers.Except(Rank.Keys)); // a new namespace gets its place here first
        var upward = graph.UsesUpward(Rank);
        Assert.True(upward.Count == 0, "uses of a higher layer:\n" + string.Join("\n", upward));
    }

    [Fact]
    public void Native_uses_nothing_but_the_BCL()
    {
        var wrong = NamespaceGraph.Of(CoreAssembly, Core).NonBclUsesOf("Native");
        Assert.True(wrong.Count == 0, "Aica.Native uses more than the BCL:\n" + string.Join("\n", wrong));
    }

    // ---- proof the rules can fail: the fixtures below (namespace Aica.Tests.ArchFixture) break each one ----

    private const string Fixture = "Aica.Tests.ArchFixture";

    [Fact]
    public void The_cycle_finder_sees_a_cycle_hidden_in_method_bodies()
    {
        var cycles = NamespaceGraph.Of(typeof(ArchitectureSpecs).Assembly, Fixture).Cycles();
        var cycle = Assert.Single(cycles);
        Assert.Contains("Engine", cycle);
        Assert.Contains("Users", cycle);
        Assert.Contains("Aica.Tests.ArchFixture.Engine.Layout.Describe -> Aica.Tests.ArchFixture.Users.UserHome", cycle);
    }

    [Fact]
    public void The_layer_rules_see_a_feature_used_from_below_and_a_non_BCL_use_from_Native()
    {
        var graph = NamespaceGraph.Of(typeof(ArchitectureSpecs).Assembly, Fixture);
        Assert.Contains(graph.UsesOf(Lower, Features), u => u.StartsWith("Engine -> Users"));
        Assert.Contains(graph.NonBclUsesOf("Native"), u => u.Contains("Xunit"));
        Assert.Contains(graph.UsesUpward(Rank), u => u.StartsWith("Engine -> Users"));
        var result = Types.InAssembly(typeof(ArchitectureSpecs).Assembly).That().ResideInNamespace($"{Fixture}.Engine")
            .ShouldNot().HaveDependencyOn($"{Fixture}.Users").GetResult();
        Assert.False(result.IsSuccessful);
    }

    [Fact]
    public void The_cycle_finder_finds_each_strongly_connected_group_once()
    {
        var g = new NamespaceGraph();
        g.Add("A", "B", "a->b"); g.Add("B", "C", "b->c"); g.Add("C", "A", "c->a");
        g.Add("C", "D", "c->d"); g.Add("D", "E", "d->e"); g.Add("E", "D", "e->d");
        g.Add("F", "A", "f->a"); g.Add("F", "F", "f->f");
        var cycles = g.Cycles();
        Assert.Equal(2, cycles.Count);
        Assert.Contains(cycles, c => c.StartsWith("A, B, C:"));
        Assert.Contains(cycles, c => c.StartsWith("D, E:"));
    }
}

/// <summary>
/// Which layer namespace (the segment after the root: <c>Aica.Users.X</c> is <c>Users</c>, <c>Aica</c> itself is
/// <c>Infra</c>) uses which, read from IL with Mono.Cecil; each edge keeps one example use for the message.
/// </summary>
internal sealed class NamespaceGraph
{
    private readonly SortedDictionary<string, SortedDictionary<string, string>> _edges = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, SortedDictionary<string, string>> _external = new(StringComparer.Ordinal);
    private string _root = "";

    public static NamespaceGraph Of(Assembly assembly, string root)
    {
        var g = new NamespaceGraph { _root = root };
        using var module = ModuleDefinition.ReadModule(assembly.Location);
        foreach (var type in module.GetTypes())
        {
            var from = g.LayerOf(TopNamespace(type));
            if (from is null) continue;
            foreach (var (used, where) in Uses(type))
            {
                var ns = TopNamespace(used);
                var to = g.LayerOf(ns);
                if (to is null) g.External(from, ns, where);
                else if (to != from) g.Add(from, to, $"{where} -> {used.FullName}");
            }
        }
        return g;
    }

    public void Add(string from, string to, string example)
    {
        if (!_edges.TryGetValue(from, out var targets)) _edges[from] = targets = new(StringComparer.Ordinal);
        targets.TryAdd(to, example);
        _edges.TryAdd(to, new(StringComparer.Ordinal));
    }

    private void External(string from, string ns, string where)
    {
        if (!_external.TryGetValue(from, out var uses)) _external[from] = uses = new(StringComparer.Ordinal);
        uses.TryAdd(ns, where);
    }

    private string? LayerOf(string ns)
    {
        if (ns == _root) return "Infra";
        if (!ns.StartsWith(_root + ".", StringComparison.Ordinal)) return null;
        return ns[(_root.Length + 1)..].Split('.')[0];
    }

    /// <summary>Uses from any of <paramref name="lower"/> of any of <paramref name="upper"/>, "From -> To: example".</summary>
    public List<string> UsesOf(IEnumerable<string> lower, IEnumerable<string> upper) =>
        (from l in lower
         where _edges.ContainsKey(l)
         from e in _edges[l]
         where upper.Contains(e.Key)
         select $"{l} -> {e.Key}: {e.Value}").ToList();

    public IEnumerable<string> Layers => _edges.Keys;

    /// <summary>Uses of a layer ranked higher than the user, "From -> To: example".</summary>
    public List<string> UsesUpward(IReadOnlyDictionary<string, int> rank) =>
        (from e in _edges
         from t in e.Value
         where rank.TryGetValue(e.Key, out var a) && rank.TryGetValue(t.Key, out var b) && b > a
         select $"{e.Key} -> {t.Key}: {t.Value}").ToList();

    /// <summary>Namespaces outside the root used by <paramref name="layer"/> that are not the BCL (System.*).</summary>
    public List<string> NonBclUsesOf(string layer)
    {
        var wrong = new List<string>();
        if (_edges.TryGetValue(layer, out var inner))
            wrong.AddRange(inner.Select(e => $"{layer} -> {_root}.{e.Key}: {e.Value}"));
        if (_external.TryGetValue(layer, out var outer))
            wrong.AddRange(from e in outer where !IsBcl(e.Key) select $"{layer} -> {e.Key}: {e.Value}");
        return wrong;
    }

    /// <summary>System.*, and what the compiler emits itself (no namespace, Microsoft.CodeAnalysis attributes).</summary>
    private static bool IsBcl(string ns) =>
        ns is "" or "System" or "Microsoft.CodeAnalysis" || ns.StartsWith("System.", StringComparison.Ordinal);

    /// <summary>Each strongly connected group of two or more namespaces (Tarjan), with one example use per edge in it.</summary>
    public List<string> Cycles()
    {
        var index = new Dictionary<string, int>(); var low = new Dictionary<string, int>();
        var stack = new Stack<string>(); var onStack = new HashSet<string>();
        var groups = new List<List<string>>();
        var next = 0;

        void Visit(string v)
        {
            index[v] = low[v] = next++; stack.Push(v); onStack.Add(v);
            foreach (var w in _edges[v].Keys)
            {
                if (!index.ContainsKey(w)) { Visit(w); low[v] = Math.Min(low[v], low[w]); }
                else if (onStack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
            }
            if (low[v] != index[v]) return;
            var group = new List<string>();
            string x;
            do { x = stack.Pop(); onStack.Remove(x); group.Add(x); } while (x != v);
            if (group.Count > 1) groups.Add(group);
        }

        foreach (var v in _edges.Keys) if (!index.ContainsKey(v)) Visit(v);
        return groups.Select(g =>
        {
            g.Sort(StringComparer.Ordinal);
            var uses = from a in g from e in _edges[a] where g.Contains(e.Key) select $"  {a} -> {e.Key}: {e.Value}";
            return $"{string.Join(", ", g)}:\n{string.Join("\n", uses)}";
        }).ToList();
    }

    private static string TopNamespace(TypeReference t)
    {
        while (t.DeclaringType is not null) t = t.DeclaringType;
        return t.Namespace;
    }

    /// <summary>Every type a type uses: base, interfaces, attributes, members' signatures and method bodies.</summary>
    private static IEnumerable<(TypeReference Used, string Where)> Uses(TypeDefinition type)
    {
        var name = type.FullName;
        foreach (var t in Expand(type.BaseType)) yield return (t, name);
        foreach (var i in type.Interfaces) foreach (var t in Expand(i.InterfaceType)) yield return (t, name);
        foreach (var a in type.CustomAttributes) foreach (var t in Expand(a.AttributeType)) yield return (t, name);
        foreach (var f in type.Fields) foreach (var t in Expand(f.FieldType)) yield return (t, $"{name}.{f.Name}");
        foreach (var p in type.Properties) foreach (var t in Expand(p.PropertyType)) yield return (t, $"{name}.{p.Name}");
        foreach (var e in type.Events) foreach (var t in Expand(e.EventType)) yield return (t, $"{name}.{e.Name}");
        foreach (var m in type.Methods)
        {
            var where = $"{name}.{m.Name}";
            foreach (var t in Expand(m.ReturnType)) yield return (t, where);
            foreach (var p in m.Parameters) foreach (var t in Expand(p.ParameterType)) yield return (t, where);
            foreach (var a in m.CustomAttributes) foreach (var t in Expand(a.AttributeType)) yield return (t, where);
            if (!m.HasBody) continue;
            foreach (var v in m.Body.Variables) foreach (var t in Expand(v.VariableType)) yield return (t, where);
            foreach (var h in m.Body.ExceptionHandlers) foreach (var t in Expand(h.CatchType)) yield return (t, where);
            foreach (var ins in m.Body.Instructions)
                foreach (var t in OperandTypes(ins)) yield return (t, where);
        }
    }

    private static IEnumerable<TypeReference> OperandTypes(Instruction ins)
    {
        switch (ins.Operand)
        {
            case TypeReference t:
                foreach (var x in Expand(t)) yield return x;
                break;
            case MethodReference m:
                foreach (var x in Expand(m.DeclaringType)) yield return x;
                foreach (var x in Expand(m.ReturnType)) yield return x;
                foreach (var p in m.Parameters) foreach (var x in Expand(p.ParameterType)) yield return x;
                if (m is GenericInstanceMethod gm) foreach (var a in gm.GenericArguments) foreach (var x in Expand(a)) yield return x;
                break;
            case FieldReference f:
                foreach (var x in Expand(f.DeclaringType)) yield return x;
                foreach (var x in Expand(f.FieldType)) yield return x;
                break;
        }
    }

    /// <summary>A type reference and the types inside it (array element, generic arguments, by-ref, pointer).</summary>
    private static IEnumerable<TypeReference> Expand(TypeReference? t)
    {
        if (t is null || t is GenericParameter) yield break;
        switch (t)
        {
            case GenericInstanceType g:
                foreach (var x in Expand(g.ElementType)) yield return x;
                foreach (var a in g.GenericArguments) foreach (var x in Expand(a)) yield return x;
                yield break;
            case TypeSpecification s:
                foreach (var x in Expand(s.ElementType)) yield return x;
                yield break;
            default:
                yield return t;
                yield break;
        }
    }
}
