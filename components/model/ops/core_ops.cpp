// Parameter, Constant, Result, conversions, ShapeOf and the state ops (ReadValue/Assign).
#include "components/model/ops/infer_util.hpp"
#include "components/model/ops/ops.hpp"
#include "schemas/error.hpp"

namespace loom::model::ops {
namespace {

void infer_parameter(InferContext& ctx) {
    auto type = ctx.attr<ElementType>("element_type");
    require_supported(type, "parameter");
    ctx.set_output(0, type, ctx.attr<PartialShape>("shape"));
}

void infer_constant(InferContext& ctx) {
    const Tensor& value = ctx.node().value;
    LOOM_REQUIRE(!value.empty(), "constant has no data");
    if (auto* t = ctx.node().attrs.find("element_type"))
        LOOM_REQUIRE(std::get_if<ElementType>(t) &&
                         std::get<ElementType>(*t) == value.element_type(),
                     "element_type attribute does not match the data ({})",
                     loom::to_string(value.element_type()));
    ctx.set_output(0, value.element_type(), PartialShape(value.shape()));
}

void infer_result(InferContext& ctx) {
    ctx.set_output_count(0);
    (void)ctx.input_shape(0);
}

void infer_convert(InferContext& ctx) {
    auto type = ctx.attr<ElementType>("destination_type");
    require_supported(type, "destination_type");
    ctx.set_output(0, type, ctx.input_shape(0));
}

void infer_convert_like(InferContext& ctx) {
    ctx.set_output(0, ctx.input_type(1), ctx.input_shape(0));
}

void infer_shape_of(InferContext& ctx) {
    auto type = ctx.attr_or<ElementType>("output_type", ElementType::I64);
    LOOM_REQUIRE(type == ElementType::I64 || type == ElementType::I32,
                 "output_type must be i64 or i32");
    const auto& s = ctx.input_shape(0);
    ctx.set_output(0, type,
                   s.rank_is_static() ? PartialShape({Dimension(s.rank())})
                                      : PartialShape::dynamic(1));
}

void infer_read_value(InferContext& ctx) {
    auto* type = ctx.node().attrs.find("variable_type");
    auto* shape = ctx.node().attrs.find("variable_shape");
    if (type && shape && std::get_if<ElementType>(type) &&
        std::get<ElementType>(*type) != ElementType::UNDEFINED) {
        ctx.set_output(0, std::get<ElementType>(*type), std::get<PartialShape>(*shape));
        return;
    }
    LOOM_REQUIRE(ctx.input_count() == 1, "ReadValue without variable_type needs an init value");
    ctx.set_output(0, ctx.input_type(0), ctx.input_shape(0));
}

void infer_assign(InferContext& ctx) {
    ctx.set_output(0, ctx.input_type(0), ctx.input_shape(0));
}

void infer_same(InferContext& ctx) {
    ctx.set_output(0, ctx.input_type(0), ctx.input_shape(0));
}

} // namespace

void add_core_ops(OpRegistry& r) {
    using K = AttrKind;
    add_spec(r, "Parameter", "opset1", {{"shape", K::Dims}, {"element_type", K::Type}}, 0, 0,
             infer_parameter);
    add_spec(r, "Constant", "opset1", {{"element_type", K::Type, false}, {"shape", K::Dims, false}},
             0, 0, infer_constant);
    add_spec(r, "Result", "opset1", {}, 1, 1, infer_result);
    add_spec(r, "Convert", "opset1", {{"destination_type", K::Type}}, 1, 1, infer_convert);
    add_spec(r, "ConvertLike", "opset1", {}, 2, 2, infer_convert_like);
    add_spec(r, "ShapeOf", "opset1", {}, 1, 1, infer_shape_of);
    add_spec(r, "ShapeOf", "opset3", {{"output_type", K::Type, false}}, 1, 1, infer_shape_of);
    add_spec(r, "ReadValue", "opset3", {{"variable_id", K::String}}, 1, 1, infer_read_value);
    add_spec(r, "ReadValue", "opset6",
             {{"variable_id", K::String},
              {"variable_type", K::Type, false},
              {"variable_shape", K::Dims, false}},
             0, 1, infer_read_value);
    add_spec(r, "Assign", "opset3", {{"variable_id", K::String}}, 1, 1, infer_assign);
    add_spec(r, "Assign", "opset6", {{"variable_id", K::String}}, 1, 1, infer_assign);
    add_spec(r, "Identity", "opset16", {}, 1, 1, infer_same);
}

} // namespace loom::model::ops
